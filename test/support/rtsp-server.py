#!/usr/bin/python3
"""Minimal RTSP test server for the camera-ingest tests.

Run with the system interpreter (/usr/bin/python3): the GStreamer gi bindings live there.

    /usr/bin/python3 test/support/rtsp-server.py PORT MOUNT FILE [--repeat N] [--ffmpeg PATH]

Serves the H.264 video of FILE (mp4) at rtsp://127.0.0.1:PORT/MOUNT and prints READY once listening.

multifilesrc loop=true does not loop an mp4 (qtdemux sends EOS after the first pass; checked with
the test clip), so the clip is concatenated REPEAT times with ffmpeg -c copy into a temp file that
is removed on exit. The server quits when its stdin closes so a crashed test never leaves it behind.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def fail(msg):
    print('ERROR ' + msg, flush=True)
    sys.exit(2)


def make_looped(src, repeat, ffmpeg, workdir):
    listing = os.path.join(workdir, 'list.txt')
    with open(listing, 'w') as f:
        # the concat demuxer quotes with single quotes; escape any inside the path
        quoted = src.replace("'", "'\\''")
        for _ in range(repeat):
            f.write("file '%s'\n" % quoted)
    out = os.path.join(workdir, 'looped.mp4')
    cmd = [ffmpeg, '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0',
           '-i', listing, '-map', '0:v:0', '-c', 'copy', out]
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if res.returncode != 0:
        fail('ffmpeg concat failed: ' + res.stderr.decode(errors='replace').strip()[-300:])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('port', type=int)
    ap.add_argument('mount')
    ap.add_argument('file')
    ap.add_argument('--repeat', type=int, default=30)
    ap.add_argument('--ffmpeg', default=shutil.which('ffmpeg') or '/usr/bin/ffmpeg')
    args = ap.parse_args()

    src = os.path.abspath(args.file)
    if not os.path.isfile(src):
        fail('no such file: ' + src)
    mount = args.mount if args.mount.startswith('/') else '/' + args.mount

    workdir = tempfile.mkdtemp(prefix='vigil-rtsp-')
    loop = None
    try:
        served = make_looped(src, max(1, args.repeat), args.ffmpeg, workdir) if args.repeat > 1 else src

        Gst.init(None)
        server = GstRtspServer.RTSPServer()
        server.set_address('127.0.0.1')
        server.set_service(str(args.port))
        factory = GstRtspServer.RTSPMediaFactory()
        loc = served.replace('"', '\\"')
        # config-interval=-1: SPS/PPS with every IDR so a client joining a shared media mid-stream decodes
        factory.set_launch(
            '( filesrc location="%s" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )' % loc)
        factory.set_shared(True)
        server.get_mount_points().add_factory(mount, factory)
        if server.attach(None) == 0:
            fail('cannot listen on 127.0.0.1:%d' % args.port)

        loop = GLib.MainLoop()

        def quit_loop(*_):
            loop.quit()
            return False

        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, quit_loop)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, quit_loop)
        def on_stdin(ch, cond):
            if cond & (GLib.IOCondition.HUP | GLib.IOCondition.ERR) or not os.read(ch.unix_get_fd(), 4096):
                return quit_loop()
            return True

        stdin_ch = GLib.IOChannel.unix_new(sys.stdin.fileno())
        GLib.io_add_watch(stdin_ch, GLib.PRIORITY_DEFAULT,
                          GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR, on_stdin)

        print('READY rtsp://127.0.0.1:%d%s' % (args.port, mount), flush=True)
        loop.run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
