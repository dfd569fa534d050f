import { curlPin } from '@airlock/shared';
import type { LogLevel } from '../../core/logger.js';
import connectPackage from '../../../package.json' with { type: 'json' };
import type { ApiParams, ApiResponse, ApiResult } from '../contract/index.js';
import { done } from './failures.js';
import type { ServiceContext } from './service-context.js';

export interface AppVersions {
  electron?: string;
  chrome?: string;
}

/** Settings and About: what helpdesk asks for first, and the few things a person may change. */
export class SettingsHandlers {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly options: { logFolder: string | null; versions: AppVersions },
  ) {}

  async get(): Promise<ApiResponse<ApiResult<'settings.get'>>> {
    let config: Awaited<ReturnType<ServiceContext['store']['readConfig']>> = {};
    try {
      config = await this.ctx.store.readConfig();
    } catch (e) {
      this.ctx.log.warn({ error: (e as Error).message }, 'config.json unreadable');
    }
    const cache = this.ctx.secretCacheFor(config.user);
    const status = await cache.status();
    const remembered = status.available ? await cache.get() : undefined;
    return done({
      relay: config.relayUrl && config.relayPin ? { url: config.relayUrl, pin: curlPin(config.relayPin) } : null,
      user: config.user ?? null,
      deviceId: config.deviceId ?? null,
      home: this.ctx.paths.home,
      versions: {
        connect: connectPackage.version,
        node: process.versions.node,
        ...this.options.versions,
        platform: `${process.platform} ${process.arch}`,
      },
      logFolder: this.options.logFolder,
      logLevel: this.ctx.log.level as LogLevel,
      keychain: {
        backend: cache.backend,
        available: status.available,
        ...(status.available ? {} : { reason: status.reason }),
        remembered: Boolean(remembered?.ok && remembered.value),
      },
    });
  }

  async setLogLevel(p: ApiParams<'settings.setLogLevel'>): Promise<ApiResponse<ApiResult<'settings.setLogLevel'>>> {
    this.ctx.log.level = p.level;
    this.ctx.log.info({ level: p.level }, 'log level changed');
    return done({});
  }

  async forgetKeychain(): Promise<ApiResponse<ApiResult<'keychain.forget'>>> {
    const config = await this.ctx.store.readConfig().catch(() => ({ user: undefined }));
    const removed = await this.ctx.secretCacheFor(config.user).delete();
    return done({ removed: removed.ok && removed.value });
  }
}
