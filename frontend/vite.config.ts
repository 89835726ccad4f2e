/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    // `npm run dev` talks to a local `isoscan serve` on port 3000.
    // changeOrigin: the server checks Host; start it with --allow-origin http://localhost:5173.
    proxy: { "/ws": { target: "ws://127.0.0.1:3000", ws: true, changeOrigin: true } },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
