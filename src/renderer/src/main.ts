import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { useToastStore } from './stores/toasts'
import './styles/theme.css'
import { semanticCssVariables } from '@shared/theme'

for (const [name, value] of Object.entries(semanticCssVariables())) {
  document.documentElement.style.setProperty(name, value)
}

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)

// Nothing may fail only in the console: uncaught errors become a visible toast too.
app.config.errorHandler = (err, _instance, info) => {
  console.error(`vigil: ${info}`, err)
  useToastStore(pinia).error(err, 'Unexpected error in the console')
}
window.addEventListener('unhandledrejection', (e) => {
  console.error('vigil: unhandled rejection', e.reason)
  useToastStore(pinia).error(e.reason, 'Unexpected error')
})
window.addEventListener('error', (e) => {
  useToastStore(pinia).error(e.error ?? e.message, 'Unexpected error')
})

app.mount('#app')
