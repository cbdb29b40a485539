// Reference run of @vladmandic/face-api (TensorFlow.js, pure-JS "cpu" or
// "wasm" backend) for the equivalence tests in internal/face.
//
//   node reference.mjs FACEAPI_NODE_MODULES BACKEND recognize FILE.rgb...
//
// FACEAPI_NODE_MODULES is the node_modules folder scripts/setup.sh --test
// fills (third_party/faceapi/node_modules). Each FILE.rgb holds one 150x150
// RGB crop, 3 bytes a pixel, row by row. Prints one JSON object:
//   {"backend": "...", "tfjs": "...", "descriptors": [[128 floats], ...]}
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [modules, backend, cmd, ...files] = process.argv.slice(2);
if (!modules || !backend || cmd !== 'recognize') {
  console.error('usage: node reference.mjs NODE_MODULES cpu|wasm recognize FILE.rgb...');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
await tf.setBackend(backend);
await tf.ready();
const modelDir = path.join(path.resolve(modules), '@vladmandic', 'face-api', 'model');

await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
const descriptors = [];
for (const f of files) {
  const buf = fs.readFileSync(f);
  if (buf.length !== 150 * 150 * 3) throw new Error(`${f}: ${buf.length} bytes, want 150*150*3`);
  const t = tf.tensor3d(new Uint8Array(buf), [150, 150, 3], 'int32');
  const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
  t.dispose();
  descriptors.push(Array.from(d));
}
process.stdout.write(JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version_core, descriptors }) + '\n');
