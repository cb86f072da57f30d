// The SGEMM's blocking (AssemblyScript), shared with the patch packers that size their tables by it:
// a 4x8 register tile, A packed in blocks of MC rows by KC, B in blocks of KC by NC columns.

export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 128;
export const NC = 256;
