// Starts the sample MCP server (target/debug/weather-mcp).
import { WEATHER_MCP_BIN, requireFile } from './env.mjs';
import { freePort } from './ports.mjs';
import { startProcess, waitForHttp } from './procs.mjs';

/** A port and the MCP URL for a weather-mcp that will be started later (authgate's config needs the URL first). */
export async function planWeather() {
  const port = await freePort();
  return { port, url: `http://127.0.0.1:${port}/mcp` };
}

export async function startWeather({ port, issuer, name = 'weather-mcp' }) {
  requireFile(WEATHER_MCP_BIN, 'build it with `cargo build -p weather-mcp` (or run e2e/run.sh)');
  const url = `http://127.0.0.1:${port}/mcp`;
  const proc = startProcess(`${name}-${port}`, WEATHER_MCP_BIN, ['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--resource', url], {
    env: { RUST_LOG: process.env.E2E_WEATHER_LOG ?? 'info' },
  });
  // Ready when the protected endpoint answers 401 (a GET probe, as clients do).
  await waitForHttp(url, { proc, ok: (r) => r.status === 401 });
  return {
    url,
    port,
    proc,
    stop: () => proc.stop(),
  };
}
