// Compiles the AssemblyScript kernels to WebAssembly twice: plain SIMD, and relaxed SIMD (fused
// multiply-add), which the loader picks when the runtime supports it. Part of `npm run build`
// (scripts/build.js); the .wasm files are build outputs, not committed.
import asc from 'assemblyscript/asc';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = 'src/backend/wasm/kernels/index.ts';
const common = [
  entry, '-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '65536', '--enable', 'simd', '--enable', 'threads',
];

export async function buildWasm() {
  fs.mkdirSync('build', { recursive: true });
  for (const [name, extra] of [['simd', []], ['relaxed', ['--enable', 'relaxed-simd']]]) {
    const { error, stderr } = await asc.main([...common, ...extra, '-o', `build/kernels-${name}.wasm`]);
    if (error) {
      process.stderr.write(stderr.toString());
      throw new Error(`build-wasm: ${error.message}`);
    }
  }
  return ['build/kernels-simd.wasm', 'build/kernels-relaxed.wasm'];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`build-wasm: ${(await buildWasm()).join(', ')}`);
