// EXPERIMENT (not used by the app): the Node.js-side twin of constructs_lib/provider.py's lean import.
//
// The jsii kernel require()s @cdktf/provider-aws, whose lib/index.js eagerly require()s all
// ~2,200 resource modules (~267 MB of JS): ~2.3 s and most of node's ~620 MiB. The kernel
// only ever reads `closure[submodule][Type]`, so exporting each submodule as a lazy getter
// loads just the ~40 that are used. Load it with
//   NODE_OPTIONS="--require $PWD/bench/experiments/node_lazy_provider_index.js"
// (jsii's node inherits the environment). bench/experiments/try_node_lazy.py measures it and
// checks the synthesized JSON is byte-identical. Falls back to the stock file on any surprise.
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
  if (process.env.BENCH_NODE_LAZY_DEBUG) process.stderr.write(`[lazy-index] ${pairs.length} lazy exports for ${filename}\n`);
};
