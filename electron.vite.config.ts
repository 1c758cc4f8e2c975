import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

const shared = { '@shared': resolve(__dirname, 'src/shared') }

export default defineConfig({
  main: {
    resolve: { alias: shared },
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          'inference-worker': resolve(__dirname, 'src/main/inference/worker-entry.ts')
        },
        // Native addons and the ffmpeg binary path must be resolved at run time from node_modules.
        external: ['onnxruntime-node', 'sharp', '@ffmpeg-installer/ffmpeg', 'ws', 'lowdb', 'electron']
      }
    }
  },
  preload: {
    resolve: { alias: shared },
    build: { rollupOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } } }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    resolve: { alias: { ...shared, '@renderer': resolve(__dirname, 'src/renderer/src') } },
    plugins: [vue()],
    build: { outDir: resolve(__dirname, 'out/renderer') }
  }
})
