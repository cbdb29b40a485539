package gen

// The tables the synthetic library is drawn from.

type city struct {
	name          string
	lat, lon, alt float64
	offset        int // minutes east of UTC (standard time; near enough)
}

var cities = []city{
	{"Lyon", 45.764, 4.8357, 170, 60}, {"Paris", 48.8566, 2.3522, 35, 60}, {"London", 51.5072, -0.1276, 11, 0},
	{"Berlin", 52.52, 13.405, 34, 60}, {"Madrid", 40.4168, -3.7038, 667, 60}, {"Barcelona", 41.3874, 2.1686, 12, 60},
	{"Rome", 41.9028, 12.4964, 21, 60}, {"Venice", 45.4408, 12.3155, 1, 60}, {"Amsterdam", 52.3676, 4.9041, -2, 60},
	{"Lisbon", 38.7223, -9.1393, 100, 0}, {"Vienna", 48.2082, 16.3738, 190, 60}, {"Prague", 50.0755, 14.4378, 235, 60},
	{"Copenhagen", 55.6761, 12.5683, 14, 60}, {"Stockholm", 59.3293, 18.0686, 28, 60}, {"Oslo", 59.9139, 10.7522, 23, 60},
	{"Reykjavik", 64.1466, -21.9426, 15, 0}, {"Edinburgh", 55.9533, -3.1883, 47, 0}, {"Dublin", 53.3498, -6.2603, 20, 0},
	{"Zermatt", 46.0207, 7.7491, 1608, 60}, {"Chamonix", 45.9237, 6.8694, 1035, 60}, {"Nice", 43.7102, 7.262, 10, 60},
	{"Athens", 37.9838, 23.7275, 70, 120}, {"Santorini", 36.3932, 25.4615, 130, 120}, {"Istanbul", 41.0082, 28.9784, 39, 180},
	{"Marrakesh", 31.6295, -7.9811, 466, 60}, {"Cairo", 30.0444, 31.2357, 23, 120}, {"Cape Town", -33.9249, 18.4241, 25, 120},
	{"New York", 40.7128, -74.006, 10, -300}, {"San Francisco", 37.7749, -122.4194, 16, -480}, {"Chicago", 41.8781, -87.6298, 181, -360},
	{"Montreal", 45.5019, -73.5674, 233, -300}, {"Vancouver", 49.2827, -123.1207, 70, -480}, {"Mexico City", 19.4326, -99.1332, 2240, -360},
	{"Rio de Janeiro", -22.9068, -43.1729, 5, -180}, {"Buenos Aires", -34.6037, -58.3816, 25, -180}, {"Tokyo", 35.6762, 139.6503, 40, 540},
	{"Kyoto", 35.0116, 135.7681, 50, 540}, {"Seoul", 37.5665, 126.978, 38, 540}, {"Bangkok", 13.7563, 100.5018, 2, 420},
	{"Singapore", 1.3521, 103.8198, 15, 480}, {"Sydney", -33.8688, 151.2093, 58, 600}, {"Queenstown", -45.0312, 168.6626, 310, 720},
}

// homeCity is where each owner lives.
var homeCity = [2]int{0, 1}

type camera struct {
	make, model, lens, lensMake string
	prefix                      string // file names: IMG_0001.JPG, DSC_0001.JPG
	w, h                        int
	phone, gps, heic            bool
	fmin, focal                 float64
	from, to                    int // years it was in use
}

// cameras: phones first (by owner and era), then system cameras, then
// noCamera (scans, screenshots: no EXIF camera).
var cameras = []camera{
	// alice's phones
	{"Apple", "iPhone 4S", "iPhone 4S back camera 4.28mm f/2.4", "Apple", "IMG", 3264, 2448, true, true, false, 2.4, 4.28, 2010, 2013},
	{"Apple", "iPhone 6", "iPhone 6 back camera 4.15mm f/2.2", "Apple", "IMG", 3264, 2448, true, true, false, 2.2, 4.15, 2014, 2016},
	{"Apple", "iPhone 8", "iPhone 8 back camera 3.99mm f/1.8", "Apple", "IMG", 4032, 3024, true, true, true, 1.8, 3.99, 2017, 2019},
	{"Apple", "iPhone 12", "iPhone 12 back dual wide camera 4.2mm f/1.6", "Apple", "IMG", 4032, 3024, true, true, true, 1.6, 4.2, 2020, 2022},
	{"Apple", "iPhone 15 Pro", "iPhone 15 Pro back triple camera 6.765mm f/1.78", "Apple", "IMG", 4032, 3024, true, true, true, 1.78, 6.765, 2023, 2025},
	// bob's phones
	{"samsung", "GT-I9300", "", "", "IMG", 3264, 2448, true, true, false, 2.6, 3.7, 2010, 2013},
	{"samsung", "SM-G930F", "", "", "IMG", 4032, 3024, true, true, false, 1.7, 4.2, 2014, 2017},
	{"Google", "Pixel 3", "", "", "PXL", 4032, 3024, true, true, false, 1.8, 4.44, 2018, 2020},
	{"Google", "Pixel 7", "", "", "PXL", 4080, 3072, true, true, false, 1.85, 6.81, 2021, 2025},
	// alice's system cameras
	{"Canon", "Canon EOS 600D", "EF-S18-55mm f/3.5-5.6 IS II", "Canon", "IMG", 5184, 3456, false, false, false, 3.5, 18, 2010, 2015},
	{"FUJIFILM", "X-T2", "XF18-55mmF2.8-4 R LM OIS", "FUJIFILM", "DSCF", 6000, 4000, false, false, false, 2.8, 18, 2016, 2020},
	{"SONY", "ILCE-7M3", "FE 24-105mm F4 G OSS", "Sony", "DSC", 6000, 4000, false, false, false, 4, 24, 2021, 2025},
	// bob's system cameras
	{"NIKON CORPORATION", "NIKON D5100", "18.0-55.0 mm f/3.5-5.6", "Nikon", "DSC", 4928, 3264, false, false, false, 3.5, 18, 2010, 2016},
	{"OLYMPUS IMAGING CORP.", "E-M10MarkII", "OLYMPUS M.14-42mm F3.5-5.6 EZ", "OLYMPUS", "P", 4608, 3456, false, false, false, 3.5, 14, 2017, 2021},
	{"Panasonic", "DC-G9", "LUMIX G VARIO 12-60/F3.5-5.6", "Panasonic", "P", 5184, 3888, false, false, false, 3.5, 12, 2022, 2025},
	// no camera
	{"", "", "", "", "", 2480, 3508, false, false, false, 0, 0, 2010, 2025},
}

var noCamera = len(cameras) - 1

// phoneOf is owner's phone in year y.
func phoneOf(owner, y int) int { return pick(owner, y, true) }

// systemOf is owner's system camera in year y.
func systemOf(owner, y int) int { return pick(owner, y, false) }

func pick(owner, y int, phone bool) int {
	// alice: phones 0-4, system 9-11; bob: phones 5-8, system 12-14.
	lo, hi := 0, 5
	switch {
	case owner == Alice && !phone:
		lo, hi = 9, 12
	case owner == Bob && phone:
		lo, hi = 5, 9
	case owner == Bob && !phone:
		lo, hi = 12, 15
	}
	for k := lo; k < hi; k++ {
		if y >= cameras[k].from && y <= cameras[k].to {
			return k
		}
	}
	return hi - 1
}

// vocabulary: labels of scenes, as a zero-shot CLIP tagger names them.
var vocabulary = []string{
	"beach", "sea", "mountain", "snow", "forest", "lake", "river", "desert", "sunset", "sky",
	"city", "street", "building", "bridge", "church", "museum", "market", "restaurant", "food", "cake",
	"coffee", "wine", "dog", "cat", "horse", "bird", "flower", "garden", "park", "playground",
	"child", "baby", "family", "friends", "wedding", "birthday", "party", "concert", "stadium", "bicycle",
	"car", "train", "airplane", "boat", "harbour", "island", "waterfall", "cave", "castle", "ruins",
	"night", "fireworks", "christmas tree", "hiking", "skiing", "swimming pool", "camping", "tent", "picnic", "selfie",
	"portrait", "group photo", "document", "screenshot", "receipt", "whiteboard", "kitchen", "living room", "bedroom", "office",
	"zoo", "aquarium", "farm", "vineyard", "field", "autumn leaves", "rain", "fog", "rainbow", "moon",
}
