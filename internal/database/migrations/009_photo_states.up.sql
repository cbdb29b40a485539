-- Per-user state of a photo (issue 8): favourite, archived (out of the
-- timeline, in the Archive), trashed (out of everything, in the Trash,
-- restorable) and purged (the trash emptied: hidden for good). Library
-- folders are never written to: trashing only hides. User 0 is the one
-- local user while no account exists; the first admin inherits its rows.
CREATE TABLE photo_states (
    user_id    bigint NOT NULL,
    photo_id   text NOT NULL REFERENCES photos ON DELETE CASCADE,
    favorite   boolean NOT NULL DEFAULT false,
    archived   boolean NOT NULL DEFAULT false,
    trashed_at timestamptz,
    purged     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, photo_id)
);
CREATE INDEX photo_states_photo ON photo_states (photo_id);
CREATE INDEX photo_states_trash ON photo_states (trashed_at) WHERE trashed_at IS NOT NULL AND NOT purged;
