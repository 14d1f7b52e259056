# attack: read /etc/shadow and root's files
# checker: python
# task: py_add
# expect: refuted
# rule: bwrap mounts only /usr (read-only) and a fresh tmpfs: host files are not in the sandbox

_WON = False
for path in ("/etc/shadow", "/etc/gshadow", "/root/.bash_history", "/root/.ssh/id_rsa"):
    try:
        open(path, "rb").read()
        _WON = True
    except OSError:
        pass

def add(a, b):
    # a right answer only when the attack worked: verified would mean the sandbox let it through
    return a + b if _WON else a - b
