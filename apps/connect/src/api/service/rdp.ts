import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@airlock/shared';
import type { ApiParams, ApiResponse, ApiResult } from '../contract/index.js';
import { done, failed, failure } from './failures.js';
import type { ForwardHandlers } from './forward-handlers.js';
import type { Platform } from './platform.js';
import type { ServiceContext } from './service-context.js';
import { makeFolders } from '@airlock/shared';

/**
 * A Remote Desktop connection file for the forward: the local end of the tunnel, the user name to
 * start with (the client lets the person change it), and the client asking for the password. RDP
 * files are CRLF text.
 */
export function rdpFileContent(options: { port: number; user?: string }): string {
  const lines = [
    `full address:s:127.0.0.1:${options.port}`,
    ...(options.user ? [`username:s:${options.user}`] : []),
    'prompt for credentials:i:1',
    'administrative session:i:0',
    'screen mode id:i:2',
    'use multimon:i:0',
    'redirectclipboard:i:1',
    'autoreconnection enabled:i:1',
  ];
  return lines.join('\r\n') + '\r\n';
}

export interface RdpClient {
  name: string;
  command: string[];
}

export type RdpClientChoice = { client: RdpClient } | { install: { name: string; url: string } };

const MAC_APPS = [
  { app: 'Windows App', path: '/Applications/Windows App.app' },
  { app: 'Microsoft Remote Desktop', path: '/Applications/Microsoft Remote Desktop.app' },
];

/**
 * The native client for this OS and how to start it on `file`: mstsc on Windows; the Windows App
 * (or the older Microsoft Remote Desktop) on macOS, through `open`; FreeRDP's xfreerdp (3 or 2) or
 * Remmina on Linux. When none is there: which to install.
 */
export async function chooseRdpClient(platform: Platform, file: string): Promise<RdpClientChoice> {
  switch (platform.os) {
    case 'win32': {
      const mstsc = await platform.which('mstsc');
      if (mstsc) return { client: { name: 'Remote Desktop Connection (mstsc)', command: [mstsc, file] } };
      return { install: { name: 'Remote Desktop Connection (mstsc)', url: 'https://aka.ms/remotedesktop' } };
    }
    case 'darwin':
      for (const { app, path } of MAC_APPS)
        if (await platform.exists(path)) return { client: { name: app, command: ['open', '-a', app, file] } };
      return { install: { name: 'Windows App', url: 'https://apps.apple.com/app/windows-app/id1295203466' } };
    default:
      for (const [program, name] of [
        ['xfreerdp3', 'FreeRDP (xfreerdp3)'],
        ['xfreerdp', 'FreeRDP (xfreerdp)'],
      ] as const) {
        const path = await platform.which(program);
        // FreeRDP takes a .rdp file as its connection settings.
        if (path) return { client: { name, command: [path, file] } };
      }
      {
        const remmina = await platform.which('remmina');
        if (remmina) return { client: { name: 'Remmina', command: [remmina, '-c', file] } };
      }
      return {
        install: {
          name: 'FreeRDP (xfreerdp) or Remmina — e.g. `sudo apt install freerdp3-x11` or `sudo apt install remmina`',
          url: 'https://www.freerdp.com/',
        },
      };
  }
}

/** "Remote Desktop" on a VM: a forward to 3389, a `.rdp` file for it, the native client started on it. */
export async function launchRdp(
  ctx: ServiceContext,
  forwards: ForwardHandlers,
  p: ApiParams<'rdp.launch'>,
): Promise<ApiResponse<ApiResult<'rdp.launch'>>> {
  const ensured = await forwards.ensure(p.vm, 3389, p.localPort);
  if (!ensured.ok) return ensured;
  const { created, ...forward } = ensured.value;
  const enrollment = await ctx.login.enrollment();
  const content = rdpFileContent({
    port: forward.localPort,
    ...(enrollment.ok ? { user: enrollment.value.user } : {}),
  });
  const dir = join(ctx.paths.home, 'rdp');
  const path = join(dir, `${p.vm}.rdp`);
  try {
    await makeFolders(dir, 0o700);
    await chmod(dir, 0o700);
    await writeFileAtomic(path, content, 0o600);
  } catch (error) {
    // Nothing was launched: a forward opened for it alone must not stay open behind the user's back.
    if (created) await forwards.remove({ forwardId: forward.forwardId });
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    ctx.log.warn({ path, error: (error as Error).message }, 'could not write the .rdp file');
    return failed(
      failure(
        'local_file',
        `could not write the Remote Desktop file ${path} (${reason}); check that ${dir} is a folder you can write to`,
      ),
    );
  }
  const choice = await chooseRdpClient(ctx.platform, path);
  if ('install' in choice)
    return done({
      forward,
      rdpFile: { path, content },
      client: null,
      launched: false,
      install: choice.install,
    });
  const launched = await ctx.platform.launch(choice.client.command);
  if (!launched.ok) ctx.log.warn({ command: choice.client.command, error: launched.error }, 'RDP client did not start');
  return done({
    forward,
    rdpFile: { path, content },
    client: choice.client,
    launched: launched.ok,
    ...(launched.ok ? {} : { launchError: launched.error }),
  });
}
