import { KeychainCache } from '../../core/identity/keytar-secret-cache.js';
import { createDispatch } from '../../api/dispatch.js';
import { ConnectService } from '../../api/service/connect-service.js';
import { nodePlatform } from '../../api/service/platform.js';
import { openInBrowser } from '../../host/browser-launch.js';
import { findRendererDir } from '../../host/renderer-dir.js';
import { startUiHost } from '../../host/ui-host.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { keepRunningAfterBugs } from '../process-policy.js';
import { onTerminationSignals } from '../signals.js';

export interface UiOptions {
  port?: number;
  /** False with --no-open: print the address, do not start a browser. */
  open: boolean;
}

/**
 * `airlock ui`: the desktop app in the default browser ("browser mode"), served on 127.0.0.1 for
 * this user only, until Ctrl-C. The same Connect API as the Electron app, over a WebSocket.
 */
export async function uiCommand(ctx: CliContext, opts: UiOptions): Promise<number> {
  keepRunningAfterBugs();
  const staticDir = findRendererDir();
  if (!staticDir)
    throw new CliError('the app is not built here', 'run `npm start` or `npm test` once in the repo (they build it)');
  const service = new ConnectService({
    home: ctx.paths.home,
    log: ctx.log,
    // The host process logs where the CLI does: Settings names it, the support bundle reads it.
    logFolder: ctx.logFolder,
    secretCacheFor: (home, user) => new KeychainCache({ home, user }),
  });
  let host;
  try {
    host = await startUiHost({
      dispatch: createDispatch(service),
      onEvent: (l) => service.onEvent(l),
      staticDir,
      log: ctx.log,
      port: opts.port,
    });
  } catch (e) {
    await service.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new CliError(`port ${opts.port} is in use`, 'choose another with --port, or omit it');
    throw e;
  }
  const stopped = new Promise<void>((resolve) => onTerminationSignals(() => resolve()));
  const launch = opts.open
    ? await openInBrowser(host.url, { home: ctx.paths.home, platform: nodePlatform() })
    : { opened: false as const, reason: '--no-open' };
  if (launch.opened) process.stdout.write(`Airlock is open in your browser (${host.origin}); Ctrl-C stops it\n`);
  else
    process.stdout.write(
      `Open this address in a browser on this computer (it holds a one-time secret; do not share it):\n  ${host.url}\n` +
        'Ctrl-C stops it\n',
    );
  await stopped;
  await host.close();
  await service.close();
  return EXIT.ok;
}
