import { rm } from 'node:fs/promises';
import { nodePlatform } from '../../api/service/platform.js';
import { airlockHome } from '../../core/paths.js';
import { openInBrowser } from '../../host/browser-launch.js';
import { findRendererDir } from '../../host/renderer-dir.js';
import { startUiHost, type UiHost, type UiHostApi } from '../../host/ui-host.js';
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
 *
 * The page is served, and its address given, before the rest of Connect is loaded (`makeContext`,
 * the service): the browser loads and starts the page meanwhile, and the page's WebSocket waits
 * for the API. A context that fails (a bad log level…) closes the host and fails the command.
 */
export async function uiCommand(makeContext: () => Promise<CliContext>, opts: UiOptions): Promise<number> {
  keepRunningAfterBugs();
  const staticDir = findRendererDir();
  if (!staticDir)
    throw new CliError('the app is not built here', 'run `npm start` or `npm test` once in the repo (they build it)');
  let resolveApi!: (api: UiHostApi) => void;
  let rejectApi!: (e: unknown) => void;
  const api = new Promise<UiHostApi>((resolve, reject) => ((resolveApi = resolve), (rejectApi = reject)));
  let host: UiHost;
  try {
    host = await startUiHost({ api, staticDir, port: opts.port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new CliError(`port ${opts.port} is in use`, 'choose another with --port, or omit it');
    throw e;
  }
  const stopped = new Promise<void>((resolve) => onTerminationSignals(() => resolve()));
  const launch = opts.open
    ? await openInBrowser(host.url, { home: airlockHome(), platform: nodePlatform() })
    : { opened: false as const, reason: '--no-open', page: undefined };
  if (launch.opened) process.stdout.write(`Airlock is open in your browser (${host.origin}); Ctrl-C stops it\n`);
  else
    process.stdout.write(
      `Open this address in a browser on this computer (it holds a one-time secret; do not share it):\n  ${host.url}\n` +
        'Ctrl-C stops it\n',
    );
  let service: ServiceApi;
  try {
    service = await startService(await makeContext());
    resolveApi(service);
  } catch (e) {
    rejectApi(e);
    await host.close();
    throw e;
  }
  await stopped;
  // The page that sent the browser on holds this launch's secret: it goes with the launch.
  if (launch.page) await rm(launch.page, { force: true });
  await host.close();
  await service.close();
  return EXIT.ok;
}

type ServiceApi = UiHostApi & { close(): Promise<void> };

/** The Connect service behind the page; its modules load while the browser loads the page. */
async function startService(ctx: CliContext): Promise<ServiceApi> {
  const [{ ConnectService }, { createDispatch }, { KeychainCache }] = await Promise.all([
    import('../../api/service/connect-service.js'),
    import('../../api/dispatch.js'),
    import('../../core/identity/keytar-secret-cache.js'),
  ]);
  const service = new ConnectService({
    home: ctx.paths.home,
    log: ctx.log,
    // The host process logs where the CLI does: Settings names it, the support bundle reads it.
    logFolder: ctx.logFolder,
    secretCacheFor: (home, user) => new KeychainCache({ home, user }),
  });
  // While the browser opens its tab: with a valid login, the first screen's VM list is asked for now.
  void service.warmUp();
  return {
    dispatch: createDispatch(service),
    onEvent: (l) => service.onEvent(l),
    log: ctx.log,
    close: () => service.close(),
  };
}
