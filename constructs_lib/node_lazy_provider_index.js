// The Node.js-side twin of constructs_lib/provider.py's lean import, loaded into the jsii
// kernel's node process by constructs_lib/framework.py through NODE_OPTIONS=--require.
//
// Why: the jsii kernel require()s @cdktf/provider-aws, whose lib/index.js eagerly require()s
// all ~2,200 resource modules (~267 MB of JS): about 2.3 s and most of node's ~620 MiB, even
// though a synth uses ~40 of them. The kernel only ever reads `index[submodule][Type]`, so
// exporting each submodule as a lazy getter loads just the ones that are used. The synthesized
// JSON is identical (tests/framework/test_lean_provider_import.py compares it byte for byte).
//
// Safety valves: only the provider's lib/index.js is touched; if its layout is not the
// `exports.x = require("./x");` list this was written for, the stock loader runs unchanged.
// CDKTF_EAGER_PROVIDER_IMPORT=1 keeps framework.py from loading this file at all.
"use strict";
const Module = require("module");
const fs = require("fs");

const INDEX = /[\\/]provider-aws[\\/](?:.*[\\/])?lib[\\/]index\.js$/;
const EXPORT_LINE = /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[^"]+)"\);?$/gm;
const stockLoader = Module._extensions[".js"];

Module._extensions[".js"] = function lazyProviderIndex(module, filename) {
  if (!INDEX.test(filename)) return stockLoader(module, filename);
  const source = fs.readFileSync(filename, "utf8");
  const pairs = [...source.matchAll(EXPORT_LINE)].map((m) => [m[1], m[2]]);
  if (pairs.length < 1000) return stockLoader(module, filename); // not the layout this was written for
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, relative] of pairs) {
    let loaded;
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        if (loaded === undefined) loaded = module.require(relative);
        return loaded;
      },
    });
  }
  if (process.env.CDKTF_LAZY_INDEX_DEBUG) process.stderr.write(`[lazy-index] ${pairs.length} lazy exports for ${filename}\n`);
};
