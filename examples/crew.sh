#!/bin/sh
# A crew of coding agents on one repository: a task queue, a git worktree per agent, an
# event log, and the finished branches merged back. Run it in the repository:
#
#   examples/crew.sh AGENTS 'AGENT COMMAND' < tasks.jsonl
#
# Each stdin line is a task (JSON). AGENTS agents, each in its own workspace (`ws run`),
# claim tasks until none is ready and run AGENT COMMAND (by sh -c, in the workspace, with
# CFS_TASK_ID and CFS_TASK_DATA set) for each; the work is committed on the agent's
# branch. A task whose command fails is marked failed; an agent that dies gives its task
# back at once. Then each branch is merged into main and the event log is printed.
set -eu

case ${1:-} in
--task) # One claimed task, in the agent's workspace.
  printf '{"type":"claimed","task":"%s","agent":"%s"}\n' "$CFS_TASK_ID" "$CFS_WORKSPACE" | concurrent-fs events append >/dev/null
  sh -c "$2"
  git add -A
  git commit -qm "$CFS_TASK_ID: $CFS_TASK_DATA"
  printf '{"type":"done","task":"%s","agent":"%s"}\n' "$CFS_TASK_ID" "$CFS_WORKSPACE" | concurrent-fs events append >/dev/null
  ;;
--agent) # One agent, in its workspace: claim until no task is ready (exit 75).
  status=0
  while [ "$status" -ne 75 ]; do
    status=0
    concurrent-fs task claim --hold -- "$0" --task "$2" || status=$?
  done
  ;;
*) # The crew.
  agents=$1
  while IFS= read -r task; do concurrent-fs task add "$task" >/dev/null; done
  for i in $(seq "$agents"); do
    concurrent-fs ws run "agent-$i" --create --base main -- "$0" --agent "$2" &
  done
  wait
  for i in $(seq "$agents"); do concurrent-fs ws merge "agent-$i"; done
  concurrent-fs task list
  concurrent-fs events read
  ;;
esac
