/**
 * Configuration for Playwright using default from @jupyterlab/galata
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...baseConfig,
  // Never start the report server: it would block a terminal or CI job.
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8888',
    // Playwright's own browser download does not work here: use Debian's.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage'
      ]
    },
    // galata's default records videos, which needs Playwright's ffmpeg download.
    video: 'off',
    screenshot: 'on'
  },
  webServer: [
    {
      // The scripted OpenAI-compatible model server: each test scripts it.
      command: 'cd .. && .venv/bin/python -m tests.scripted_model --port 8765',
      url: 'http://127.0.0.1:8765/_health',
      timeout: 60 * 1000,
      reuseExistingServer: !process.env.CI
    },
    {
      command: 'jlpm start',
      url: 'http://127.0.0.1:8888/lab',
      timeout: 120 * 1000,
      reuseExistingServer: !process.env.CI
    }
  ]
};
