// esbuild's text loader turns each .wgsl file into its source string (see build.mjs).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
