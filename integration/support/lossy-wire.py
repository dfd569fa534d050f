# A wire between two network interfaces, in user space: every Ethernet frame that arrives on one
# is sent out of the other after a delay, or dropped with a given probability. It stands in for
# the `netem` qdisc, which this machine's kernel lacks. Python, not TypeScript: Node cannot open
# AF_PACKET sockets. Commands on stdin, one per line: `loss <0..1>`, `delay <ms>`, `stats` (prints
# `frames <carried> dropped <dropped>`); it exits when stdin closes (its parent went away).
import heapq
import os
import random
import select
import socket
import sys
import time

ETH_P_ALL = 3
PACKET_OUTGOING = 4


def open_raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def main():
    a, b = open_raw(sys.argv[1]), open_raw(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    loss = float(sys.argv[4])
    peer = {a: b, b: a}
    queue = []  # (due, seq, out socket, frame): frames leave in the order they came
    seq = 0
    dropped = 0
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending = b''
    print('ready', flush=True)
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
        readable, _, _ = select.select([a, b, stdin], [], [], timeout)
        for s in readable:
            if s == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                pending += chunk
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    key, *value = line.decode().split()
                    if key == 'stats':
                        print(f'frames {seq} dropped {dropped}', flush=True)
                    elif key == 'loss':
                        loss = float(value[0])
                    elif key == 'delay':
                        delay = float(value[0]) / 1000.0
                continue
            while True:
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                # What this wire (or the kernel) sent out of the interface is not traffic to carry.
                if addr[2] == PACKET_OUTGOING:
                    continue
                if loss and random.random() < loss:
                    dropped += 1
                    continue
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, peer[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError as e:
                print(f'could not send a frame of {len(frame)} bytes: {e}', file=sys.stderr, flush=True)


main()
