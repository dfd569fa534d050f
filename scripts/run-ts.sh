#!/usr/bin/env bash
# run-ts.sh <entry.ts> [args…] — runs one of Airlock's TypeScript entry points with Node >= 22.12:
# the repo's bootstrapped Node 22 (.tools/node22, installed by `npm start` / `npm test` when the
# system Node is older), else a system Node >= 22.12. Arguments and stdio pass through untouched.
# The wrappers (./airlock …) source it rather than start another shell; it may be run directly too.
set -euo pipefail
# Parameter expansion, not dirname/basename: a process each, a few ms of every command's start.
here="${BASH_SOURCE[0]%/*}"
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
here="${here#./}"
# The repository is the folder above scripts/, made absolute without `cd` in a subshell (a fork,
# ~5 ms of every start on a slow VM); any other shape of path takes the subshell.
case "$here" in
  /?*/scripts) repo="${here%/scripts}" ;;
  scripts) repo="$PWD" ;;
  [!/]*/scripts) repo="$PWD/${here%/scripts}" ;;
  *) repo="$(cd -P "$here/.." && pwd)" ;;
esac
name="${AIRLOCK_WRAPPER_NAME:-airlock}"
name="${name##*/}"
entry="$1"
shift

# The repo's own Node 22 first when it is there: asking the system node its version costs ~0.15 s.
node_bin="$repo/.tools/node22/node_modules/node/bin/node"
# The folder holds the npm package node@22, so its major version is known without asking.
major=22
if [ ! -x "$node_bin" ]; then
  node_bin=""
  if command -v node >/dev/null 2>&1; then
    # NODE_OPTIONS may preload code that prints; this question must get only the answer.
    # 22.12 as package.json's engines says (and the long-running programs' flags need it).
    read -r major minor < <(NODE_OPTIONS= node -p 'process.versions.node.split(".").slice(0, 2).join(" ")' 2>/dev/null || echo 0 0) || true
    if [ "${major:-0}" -gt 22 ] 2>/dev/null || { [ "${major:-0}" -eq 22 ] && [ "${minor:-0}" -ge 12 ]; } 2>/dev/null; then
      node_bin="$(command -v node)"
    fi
  fi
  if [ -z "$node_bin" ]; then
    echo "$name: needs Node.js 22.12 or newer; none found (run \`npm start\` or \`npm test\` once to bootstrap it into .tools/)" >&2
    exit 255
  fi
fi

# The long-running programs get V8 flags of their own (scripts/long-running-node-flags): the agent,
# the relay, and the CLI's two bulk commands. Not the CLI's other commands: V8 rejects Node's
# built-in code cache under flags it hashes, ~10-25 ms more for every command. Those get only the
# file's lines marked [all]: Node's own flags, which V8 does not hash.
long_running=false
case "$name" in
  airlock-agent | airlock-relay) long_running=true ;;
  airlock)
    # The command word comes after the CLI's global options: -v/--verbose, --log-level <level>.
    command_word=""
    skip_value=false
    for arg in "$@"; do
      if $skip_value; then
        skip_value=false
        continue
      fi
      case "$arg" in
        -v | --verbose | --log-level=*) ;;
        --log-level) skip_value=true ;;
        *)
          command_word="$arg"
          break
          ;;
      esac
    done
    case "$command_word" in forward | sftp-stdio) long_running=true ;; esac
    ;;
esac
node_flags=()
flags_file="$repo/scripts/long-running-node-flags"
# Without the file the program still starts, with V8's defaults (slower, never broken).
if [ -f "$flags_file" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    # Words, not patterns (read -a does no globbing); a CR from a Windows editor is not a flag.
    read -r -a words <<<"${line%$'\r'}"
    [ ${#words[@]} -gt 0 ] || continue
    if [ "${words[0]}" = '[all]' ]; then
      [ ${#words[@]} -gt 1 ] || continue
      words=("${words[@]:1}")
    elif ! $long_running; then
      continue
    fi
    case "${words[0]}" in
      '#'*) continue ;;
      '[node<'*']')
        # Only for a Node older than the one named: a later Node has made it its default and
        # refuses the flag, so passing it there would stop the program from starting.
        below="${words[0]#'[node<'}"
        below="${below%']'}"
        [[ $below =~ ^[0-9]+$ ]] || continue
        [ "$major" -lt "$below" ] 2>/dev/null || continue
        [ ${#words[@]} -gt 1 ] || continue
        words=("${words[@]:1}")
        ;;
    esac
    node_flags+=("${words[@]}")
  done <"$flags_file"
fi

# A bundle built by `npm start` / `npm test` starts faster; it is used only while no source
# file is newer than it, so an edit always runs as written — nor any change to the installed
# packages (the CLI's bundle carries copies of them) or to our patches of them. The build lists
# what each bundle was made of (`<name>.inputs`: our files, the two lock files, the patches), so
# only those are looked at, with Bash's own `-nt`: walking every source tree cost ~10 ms of
# every command's start on a slow VM, and a process (find) costs as much.
bundle="$repo/.tools/dist/$name.mjs"
bundle_is_current() {
  [ -f "$bundle" ] || return 1
  local f inputs="$repo/.tools/dist/$name.inputs"
  local -a listed
  # mapfile is Bash 4; macOS's own Bash 3 walks the trees below.
  if [ -f "$inputs" ] && mapfile -t listed <"$inputs" 2>/dev/null; then
    for f in ${listed[@]+"${listed[@]}"}; do
      # A listed file that is gone (renamed, deleted) changed what the bundle would be made of.
      [[ -e $repo/$f && ! $repo/$f -nt $bundle ]] || return 1
    done
    return 0
  fi
  # A bundle from a build that wrote no list: every source file counts.
  if ! shopt -s globstar nullglob 2>/dev/null; then
    # Bash 3 (macOS's own) has no globstar: find walks the trees.
    [ -z "$(find "$repo/shared/src" "$repo/relay/src" "$repo/org/src" "$repo"/apps/*/src "$repo/package-lock.json" \
      "$repo/node_modules/.package-lock.json" "$repo/patches" -newer "$bundle" \
      \( -name '*.ts' -o -path "$repo/patches*" -o -name '*package-lock.json' \) -print -quit 2>/dev/null)" ]
    return
  fi
  for f in "$repo"/{shared,relay,org}/src/**/*.ts "$repo"/apps/*/src/**/*.ts "$repo/package-lock.json" \
    "$repo/node_modules/.package-lock.json" "$repo"/patches/**; do
    [[ $f -nt $bundle ]] && return 1
  done
  return 0
}
if bundle_is_current; then
  exec "$node_bin" ${node_flags[@]+"${node_flags[@]}"} "$bundle" "$@"
fi

tsx_loader="$repo/node_modules/tsx/dist/loader.mjs"
if [ ! -f "$tsx_loader" ]; then
  echo "$name: dependencies are not installed (no $tsx_loader); run \`npm start\` or \`npm test\` once in $repo" >&2
  exit 255
fi

exec "$node_bin" ${node_flags[@]+"${node_flags[@]}"} --import "$tsx_loader" "$repo/$entry" "$@"
