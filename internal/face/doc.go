// Package face runs face recognition in-process with ONNX Runtime on the
// pre-trained weights of @vladmandic/face-api (MIT), which ship in
// TensorFlow.js format (a weights manifest plus .bin shards, mostly uint8
// quantised). The ONNX graphs are built here, in Go, from the manifests and
// the architecture as face-api's source implements it; nothing is converted
// by an external tool.
//
// What is here:
//   - the face-recognition network (ResNet-34 derived from dlib's, a 150x150
//     RGB crop -> 128-d descriptor): Recognizer;
//   - the SSD MobileNet v1 face detector with face-api's post-processing
//     (anchor decoding, sigmoid, its NMS at IoU 0.5, score threshold 0.5):
//     Detector;
//   - the tiny face detector (Tiny YOLO v2 with separable convs, input 416,
//     NMS at IoU 0.4): TinyDetector;
//   - the 68-point landmark net (FaceLandmark68Net): Landmarker;
//   - Pipeline, the three chained as face-api's
//     detectAllFaces().withFaceLandmarks().withFaceDescriptors() does
//     (descriptors on the dlib-style aligned box from the landmarks).
//
// Each is checked against face-api itself (Node, TensorFlow.js on its wasm
// and pure-JS cpu backends, testdata/reference.mjs) by the *MatchesReference
// tests. Not yet: the tiny landmark net. Indexing runs Pipeline in internal/jobs (faces.go).
//
// scripts/setup.sh installs the package into third_party/faceapi/ (git-ignored);
// DefaultModelDir finds its model/ folder there, or SHOEBOX_FACEAPI_MODELS says
// where it is.
package face
