// Test child for session-start.test.ts: starts an SSH server session after the peer sent 300
// bytes of "A", either with the library's bare connect() or through startSshSession, then
// waits a moment. Prints "survived" if the process is still alive by then.
import { createServerSession } from '../ssh/config.js';
import { generateHostKey } from '../ssh/keys.js';
import { releaseSession } from '../ssh/session-release.js';
import { startSshSession } from '../ssh/session-start.js';
import { rawPeerLink } from './raw-peer.js';

const mode = process.argv[2];
const link = await rawPeerLink();
const session = createServerSession();
session.credentials = { publicKeys: [await generateHostKey()] };
link.raw.send(Buffer.alloc(300, 'A'));
await link.firstFrame;
if (mode === 'bare') await session.connect(link.stream).catch(() => {});
else await startSshSession(session, link.stream);
await new Promise((r) => setTimeout(r, 200));
releaseSession(session);
await link.close();
process.stdout.write('survived\n');
