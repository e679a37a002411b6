#!/bin/sh
# iptables, ip6tables, *-save and *-restore in the kube-proxy image: run the
# legacy or the nft backend, whichever the node already uses (the one holding
# more rules), like upstream images do. The choice is cached for the container.
cmd=$(basename "$0")
mode=$(cat /tmp/.iptables-backend 2>/dev/null)
if [ -z "$mode" ]; then
  legacy=$( (xtables-legacy-multi iptables-save; xtables-legacy-multi ip6tables-save) 2>/dev/null | grep -c '^-')
  nft=$( (xtables-nft-multi iptables-save; xtables-nft-multi ip6tables-save) 2>/dev/null | grep -c '^-')
  mode=nft
  if [ "${legacy:-0}" -gt "${nft:-0}" ]; then mode=legacy; fi
  echo "$mode" >/tmp/.iptables-backend 2>/dev/null
fi
exec "/usr/sbin/xtables-$mode-multi" "$cmd" "$@"
