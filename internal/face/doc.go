// Package face runs face recognition in-process with ONNX Runtime on the
// pre-trained weights of @vladmandic/face-api (MIT), which ship in
// TensorFlow.js format (a weights manifest plus .bin shards, mostly uint8
// quantised). The ONNX graphs are built here, in Go, from the manifests and
// the architecture as face-api's source implements it; nothing is converted
// by an external tool.
//
// Done so far: the face-recognition network (ResNet-34 derived from dlib's,
// a 150x150 RGB crop -> 128-d descriptor). Its output is checked against
// face-api itself (Node, TensorFlow.js cpu backend) by TestRecognitionMatchesReference.
//
// scripts/setup.sh installs the package into third_party/faceapi/ (git-ignored);
// DefaultModelDir finds its model/ folder there, or SHOEBOX_FACEAPI_MODELS says
// where it is.
package face
