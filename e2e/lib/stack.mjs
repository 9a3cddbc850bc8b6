// authgate + weather-mcp wired together, optionally with a CIMD server.
import fs from 'node:fs';
import { startAuthgate, weatherResource } from './authgate.mjs';
import { planWeather, startWeather } from './weather.mjs';
import { makeLoopbackCertificates, startCimdServer } from './cimd.mjs';

/**
 * @param {object} opts
 * @param {string} opts.name
 * @param {boolean} [opts.cimd]  serve client metadata documents over TLS on
 *   127.0.0.1 and let authgate fetch them (its test-only loopback switch, and
 *   SSL_CERT_FILE set to the test CA)
 */
export async function startStack({ name, cimd = false, resourceOverrides = {} }) {
  const stack = { stops: [] };
  try {
    let env = {};
    let extra = {};
    if (cimd) {
      stack.certs = await makeLoopbackCertificates();
      stack.stops.push(async () => fs.rmSync(stack.certs.dir, { recursive: true, force: true }));
      stack.cimd = await startCimdServer(stack.certs);
      stack.stops.push(() => stack.cimd.close());
      env = { SSL_CERT_FILE: stack.certs.caFile };
      extra = { cimd: { allow_loopback: true } };
    }
    const w = await planWeather();
    stack.authgate = await startAuthgate({
      name: `authgate-${name}`,
      resources: [weatherResource(w.url, resourceOverrides)],
      extra,
      env,
    });
    stack.stops.push(() => stack.authgate.stop());
    stack.weather = await startWeather({ port: w.port, issuer: stack.authgate.issuer, name: `weather-mcp-${name}` });
    stack.stops.push(() => stack.weather.stop());
  } catch (e) {
    await stopStack(stack);
    throw e;
  }
  return stack;
}

export async function stopStack(stack) {
  for (const stop of (stack?.stops ?? []).reverse()) {
    await stop().catch(() => {});
  }
}
