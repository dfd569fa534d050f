import { useEffect, useMemo } from 'react';
import type { RdpLaunched } from '../../api/contract/index.js';
import { CopyButton } from '../common/copy-button.js';

/** What the remote-desktop action did: the client started on the file, or which client to install. */
export function RdpResult({ result }: { result: RdpLaunched }) {
  const download = useMemo(
    () => URL.createObjectURL(new Blob([result.rdpFile.content], { type: 'application/x-rdp' })),
    [result.rdpFile.content],
  );
  useEffect(() => () => URL.revokeObjectURL(download), [download]);
  const fileName = result.rdpFile.path.split(/[\\/]/).pop() ?? 'airlock.rdp';
  return (
    <div className="rdp-result" role="status" data-testid="rdp-result">
      <p>
        Remote desktop forward on <code>{result.forward.localAddress}</code>{' '}
        <CopyButton text={result.forward.localAddress} label="Copy address" />
      </p>
      {result.launched && result.client ? (
        <p>
          Started {result.client.name}: <code data-testid="rdp-command">{result.client.command.join(' ')}</code>
        </p>
      ) : result.install ? (
        <p>
          No remote desktop client was found. Install{' '}
          <a href={result.install.url} target="_blank" rel="noopener noreferrer">
            {result.install.name}
          </a>
          , then open the file below with it.
        </p>
      ) : (
        <p>
          Could not start {result.client?.name ?? 'the client'}: {result.launchError}
        </p>
      )}
      <p>
        Connection file <code>{result.rdpFile.path}</code>{' '}
        <CopyButton text={result.rdpFile.path} label="Copy file path" />{' '}
        <a href={download} download={fileName}>
          Save the .rdp file
        </a>
      </p>
    </div>
  );
}
