#!/bin/sh
# twill-cni, as `twill-cni install` writes it (@NODE@ and @CLIENT@ filled in). A POSIX sh client:
# when a CNI server (twill-node, or `twill-cni serve`) listens on the socket, the call goes there
# through socat in the "sh" framing of cni/server-wire.ts, and no Node program starts. In every
# other case (no socat, no server, a server of another namespace, no answer, arguments such as
# install or serve, a configuration this script cannot read) the Node program runs the call
# (client.cjs: it tries the server itself, else runs the call in-process).
NODE=@NODE@
CLIENT=@CLIENT@

[ $# -eq 0 ] || exec "$NODE" "$CLIENT" "$@"
command -v socat >/dev/null 2>&1 || exec "$NODE" "$CLIENT"

# stdin exactly (the "." keeps trailing newlines through the command substitution)
conf=$(cat; echo .)
conf=${conf%.}
fallback() {
  printf '%s' "$conf" | "$NODE" "$CLIENT"
  exit $?
}

# The socket: $TWILL_CNI_SOCKET, else the configuration's "socket" ("" = never), else the default.
explicit=1
if [ "${TWILL_CNI_SOCKET+set}" = set ]; then
  sock=$TWILL_CNI_SOCKET
else
  case $conf in
  *'"socket"'*'"socket"'*) fallback ;;
  *'"socket":"'*) r=${conf#*'"socket":"'}; sock=${r%%'"'*} ;;
  *'"socket": "'*) r=${conf#*'"socket": "'}; sock=${r%%'"'*} ;;
  *'"socket"'*) fallback ;;
  *) sock=/run/twill/cni.sock; explicit=0 ;;
  esac
fi
# socat reads , : ! and the like in an address as its own syntax: such a path goes to Node.
case $sock in '' | *[!A-Za-z0-9_./+@=-]*) fallback ;; esac
[ -S "$sock" ] || fallback

ms=${TWILL_CNI_CALL_TIMEOUT_MS:-60000}
case $ms in '' | *[!0-9]*) ms=60000 ;; esac
secs=$(((ms + 999) / 1000))
# The server compares network namespaces only for the default socket (cni/server.ts).
ns=
[ "$explicit" = 1 ] || ns=$(readlink /proc/self/ns/net 2>/dev/null)

# -t: how long to wait for the answer once the request is sent (socat's default is 0.5 s).
ans=$({
  printf 'TWILL-CNI-SH/1 %s %s\n' "$explicit" "$ns"
  cat "/proc/$$/environ"
  printf '\000'
  printf '%s' "$conf"
} | socat -t "$secs" -T "$secs" - "UNIX-CONNECT:$sock" 2>/dev/null; echo .)
ans=${ans%.}

nl='
'
case $ans in 'EXIT '*"$nl"*) ;; *) fallback ;; esac
code=${ans%%"$nl"*}
code=${code#EXIT }
case $code in '' | *[!0-9]*) fallback ;; esac
printf '%s' "${ans#*"$nl"}"
exit "$code"
