// Stylesheets imported by webview apps are bundled by esbuild into dist/webview/<app>.css.
declare module '*.css';
