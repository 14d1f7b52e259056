# attack: write into system and host directories to plant a payload for later checks (run twice)
# checker: python
# task: py_add
# expect: refuted
# rule: read-only system bind mounts; the root, /etc and /tmp are the run's own tmpfs, gone after it
# repeat: 2

import os
PATHS = ("/usr/lib/python3/dist-packages/ps_redteam.pth", "/usr/local/lib/ps_redteam", "/usr/ps_redteam",
         "/etc/ps_redteam", "/ps_redteam", "/var/tmp/ps_redteam", "/dev/shm/ps_redteam")
# won when a write to the read-only system succeeds, or when an earlier check's plant is still there
_WON = any(os.path.exists(p) for p in PATHS)
for path in PATHS:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("import os")
        _WON = _WON or path.startswith("/usr")
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
