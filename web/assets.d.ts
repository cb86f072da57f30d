// Stylesheets imported for esbuild to bundle into app.css: no values for TypeScript.
declare module '*.css';
