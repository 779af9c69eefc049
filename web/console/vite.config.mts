// The console's build: `make console` (node_modules/.bin/vite build --config web/console/vite.config.mts) writes
// build/console/, which the local cloud serves at /console/ and the CDK stack deploys behind CloudFront.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../../build/console", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
});
