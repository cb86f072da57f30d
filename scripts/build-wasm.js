// Compiles the AssemblyScript kernels to WebAssembly twice: plain SIMD, and relaxed SIMD (fused
// multiply-add), which the loader picks when the runtime supports it. Run by `npm install`
// (the prepare script) and `npm run build`. The .wasm files are build outputs, not committed.
import asc from 'assemblyscript/asc';
import fs from 'node:fs';

const entry = 'src/backend/wasm/kernels/index.ts';
const common = [
  entry, '-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '65536', '--enable', 'simd', '--enable', 'threads',
];
fs.mkdirSync('build', { recursive: true });
for (const [name, extra] of [['simd', []], ['relaxed', ['--enable', 'relaxed-simd']]]) {
  const { error, stderr } = await asc.main([...common, ...extra, '-o', `build/kernels-${name}.wasm`]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${error.message}\n`);
    process.exit(1);
  }
}
console.log('build-wasm: build/kernels-simd.wasm, build/kernels-relaxed.wasm');
