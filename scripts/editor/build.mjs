// Bundle entry.js into renderers/static/editor.js (one file, minified).
//
// One patch at build time: style-mod (CodeMirror's CSS-in-JS) writes its rules
// into a <style> element when mounted on a document, which the platform's
// Content Security Policy (style-src 'self', no inline styles) refuses.  The
// patch makes it use a constructed stylesheet (document.adoptedStyleSheets)
// there too, as it already does for shadow roots; constructed sheets are not
// inline styles, so the CSP stays as strict as it is.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";

const CONDITION = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {";
const styleModPatch = {
  name: "style-mod-adopted-sheets",
  setup(b) {
    b.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes(CONDITION)) throw new Error("style-mod changed: review the CSP patch in build.mjs");
      return { contents: text.replace(CONDITION, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {"), loader: "js" };
    });
  },
};

await build({
  entryPoints: ["entry.js"], bundle: true, minify: true, format: "iife", target: "es2020",
  legalComments: "eof", outfile: new URL("../../renderers/static/editor.js", import.meta.url).pathname,
  plugins: [styleModPatch], logLevel: "info",
});
