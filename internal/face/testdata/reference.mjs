// Reference run of @vladmandic/face-api (TensorFlow.js, pure-JS "cpu" or
// "wasm" backend) for the equivalence tests in internal/face.
//
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND recognize [WIDTHxHEIGHT:]FILE.rgb...
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND detect WIDTHxHEIGHT:FILE.rgb...
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND landmarks WIDTHxHEIGHT:FILE.rgb...
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND faces WIDTHxHEIGHT:FILE.rgb...
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND tiny WIDTHxHEIGHT:FILE.rgb...
//
// FACEAPI_NODE_MODULES is the node_modules folder scripts/setup.sh --test
// fills (third_party/faceapi/node_modules). A FILE.rgb holds RGB pixels,
// 3 bytes a pixel, row by row: an image (detect, tiny, faces) or a face crop (recognize,
// landmarks) of the size given (recognize: 150x150 when none is). Prints one JSON
// object:
//   {"backend": "...", "tfjs": "...", "descriptors": [[128 floats], ...]}
//   {"backend": "...", "tfjs": "...", "detections": [[{"score", "x", "y", "w", "h"}, ...], ...]}
//   {"backend": "...", "tfjs": "...", "landmarks": [[[x, y] * 68], ...]}
//   {"backend": "...", "tfjs": "...", "faces": [[{"score", "x", "y", "w", "h", "landmarks", "descriptor"}, ...], ...], "ms": N}
// (ms: the faces command's own time, models loaded and files read excluded)
// (detect: face-api's ssdMobilenetv1.locateFaces, minConfidence 0.5,
// maxResults 100; tiny: tinyFaceDetector.locateFaces, inputSize 416,
// scoreThreshold 0.5 (same output as detect); boxes in pixels. landmarks: faceLandmark68Net.detectLandmarks,
// positions in the crop's pixels. faces: detectAllFaces(image)
// .withFaceLandmarks().withFaceDescriptors(), in the image's pixels).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [modules, backend, cmd, ...files] = process.argv.slice(2);
if (!modules || !backend || !['recognize', 'detect', 'tiny', 'landmarks', 'faces'].includes(cmd)) {
  console.error('usage: node reference.mjs NODE_MODULES cpu|wasm recognize|detect|tiny|landmarks|faces FILE...');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
await tf.setBackend(backend);
await tf.ready();
const modelDir = path.join(path.resolve(modules), '@vladmandic', 'face-api', 'model');

const out = { backend: tf.getBackend(), tfjs: tf.version_core };
// ms: the time of the work itself (models loaded, files read excluded), for
// bench/faces's same-run comparison.
let work = 0;
const timed = async (fn) => { const t0 = performance.now(); const r = await fn(); work += performance.now() - t0; return r; };
function readImage(arg) {
  const m = /^(\d+)x(\d+):(.*)$/.exec(arg);
  if (!m) throw new Error(`${arg}: want WIDTHxHEIGHT:FILE`);
  const [w, h, f] = [Number(m[1]), Number(m[2]), m[3]];
  const buf = fs.readFileSync(f);
  if (buf.length !== w * h * 3) throw new Error(`${f}: ${buf.length} bytes, want ${w}*${h}*3`);
  return tf.tensor3d(new Uint8Array(buf), [h, w, 3], 'int32');
}
if (cmd === 'faces') {
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 });
  out.faces = [];
  for (const arg of files) {
    const t = readImage(arg);
    const res = await timed(() => faceapi.detectAllFaces(t, opts).withFaceLandmarks().withFaceDescriptors());
    t.dispose();
    out.faces.push(res.map((r) => ({
      score: r.detection.score,
      x: r.detection.box.x,
      y: r.detection.box.y,
      w: r.detection.box.width,
      h: r.detection.box.height,
      landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
      descriptor: Array.from(r.descriptor),
    })));
  }
} else if (cmd === 'landmarks') {
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  out.landmarks = [];
  for (const arg of files) {
    const t = readImage(arg);
    const lm = await faceapi.nets.faceLandmark68Net.detectLandmarks(t);
    t.dispose();
    out.landmarks.push(lm.positions.map((p) => [p.x, p.y]));
  }
} else if (cmd === 'detect' || cmd === 'tiny') {
  const net = cmd === 'tiny' ? faceapi.nets.tinyFaceDetector : faceapi.nets.ssdMobilenetv1;
  const opts = cmd === 'tiny' ? { inputSize: 416, scoreThreshold: 0.5 } : { minConfidence: 0.5, maxResults: 100 };
  await net.loadFromDisk(modelDir);
  out.detections = [];
  for (const arg of files) {
    const t = readImage(arg);
    const dets = await net.locateFaces(t, opts);
    t.dispose();
    out.detections.push(dets.map((d) => ({ score: d.score, x: d.box.x, y: d.box.y, w: d.box.width, h: d.box.height })));
  }
} else {
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  out.descriptors = [];
  for (const f of files) {
    const t = readImage(/^\d+x\d+:/.test(f) ? f : `150x150:${f}`);
    const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    t.dispose();
    out.descriptors.push(Array.from(d));
  }
}
out.ms = work;
// No process.exit: it would cut a large output short on a pipe.
process.stdout.write(JSON.stringify(out) + '\n');
