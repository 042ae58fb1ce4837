#!/usr/bin/env bash
# The reader's training and the decision's fit, end to end, as tools/train_reader.record.md and
# tools/fit_decision.record.md describe them: one command that runs for hours in the background
# and can be stopped and started again (a step whose output exists is not run again).
#
#   tools/retrain.sh WORK [train_reader.py train options...]
#   e.g.  tools/retrain.sh /tmp/retrain --arch l80            (the options go to every model)
#
# WORK holds everything made (never in the repository: crops and scenes come from faces-train,
# whose images must not be committed). Steps, two processes at a time on the 2 cores:
#   1. build/evidence_dump over faces-train, in two halves     WORK/dump_0{0,1}.jsonl
#   2. train_reader.py crops                                   WORK/crops.npz
#   3. the four fold models, each without its fold's sources   WORK/fold{0..3}.pt (+ .log)
#   4. 150 scenes per fold composed from its own sources, dumped  WORK/scenes_f{0..3}/
#   5. fit_decision.py features: the out-of-fold evidence      WORK/feats_*.pkl
#   6. the final model on all sources                          WORK/final.pt
#   7. fit_decision.py fit --low --form logistic --schedules Z --restarts 10   WORK/fit.md
# Then, by hand (they change shipped files): the constants of WORK/fit.md into src/decide/ and its
# Chosen line into tools/fit_decision.record.md (tests/test_weigh_reference.py holds them equal), and
#   tools/train_reader.py export --model WORK/final.pt --temperature T --out src/models/reader_weights.bin
# with T the mean of the fold models' temperatures times the fitted T (printed at the end).
# Environment: FACEUP_BUILD (default build), TRAIN_SET (default ../shared/data/faces-train),
# RETRAIN_LIMIT=N (only the first N photos of each half: a quick run that checks the steps).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,24p' "$0" >&2; exit 2; }
work=$(realpath -m "$1")
shift
opts=("$@")
root=$PWD
build=$(realpath "${FACEUP_BUILD:-build}")
set_dir=$(realpath "${TRAIN_SET:-../shared/data/faces-train}")
py=/usr/bin/python3   # Debian's, with python3-torch
limit=${RETRAIN_LIMIT:-}
[ -x "$build/evidence_dump" ] || { echo "retrain.sh: no $build/evidence_dump: build first" >&2; exit 2; }
mkdir -p "$work"
log() { echo "retrain.sh $(date -u +%H:%M:%S): $*"; }
# run NAME CMD...: CMD in the background, its output in WORK/NAME.log; `wait_all` collects
pids=()
run() {
    local name=$1
    shift
    "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}
wait_all() {
    local rc=0 p
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    pids=()
    [ $rc -eq 0 ] || { echo "retrain.sh: a step failed; see the logs in $work" >&2; exit 1; }
}
# the folds and their sources, from tools/reader_data.py
folds=$("$py" -c 'import sys; sys.path.insert(0, "tools"); import reader_data as rd
print("\n".join(",".join(f) for f in rd.FOLDS))')
mapfile -t fold_sources <<<"$folds"

# 1. the evidence: every detection of every pass, four turns, each photo of faces-train
if [ ! -s "$work/dump_01.jsonl" ]; then
    log "evidence_dump over $set_dir"
    tail -n +2 "$set_dir/manifest.tsv" | cut -f1 >"$work/paths.txt"
    n=$(wc -l <"$work/paths.txt")
    head -n $(((n + 1) / 2)) "$work/paths.txt" >"$work/paths_00"
    tail -n +$(((n + 1) / 2 + 1)) "$work/paths.txt" >"$work/paths_01"
    for h in 00 01; do
        if [ -n "$limit" ]; then head -n "$limit" "$work/paths_$h" >"$work/paths_$h.tmp" && mv "$work/paths_$h.tmp" "$work/paths_$h"; fi
        run "dump_$h" sh -c "cd '$set_dir' && '$build/evidence_dump' - <'$work/paths_$h' >'$work/dump_$h.part' && mv '$work/dump_$h.part' '$work/dump_$h.jsonl'"
    done
    wait_all
fi

# 2. the crops the reader learns from
if [ ! -s "$work/crops.npz" ]; then
    log "crops"
    "$py" tools/train_reader.py crops --dump "$work/dump_00.jsonl" "$work/dump_01.jsonl" \
        --train-set "$set_dir" --out "$work/crops.tmp.npz" >"$work/crops.log" 2>&1
    mv "$work/crops.tmp.npz" "$work/crops.npz"
fi

# 3. the fold models, two at a time
train() {   # train NAME [--holdout-fold K] [--threads N]
    local name=$1
    shift
    [ -s "$work/$name.pt" ] && return 0
    run "$name" "$py" tools/train_reader.py train --crops "$work/crops.npz" --out "$work/$name.pt" \
        --threads 1 "$@" "${opts[@]}"
}
for pair in "0 1" "2 3"; do
    for k in $pair; do
        [ -s "$work/fold$k.pt" ] || log "fold $k (held out: ${fold_sources[$k]})"
        train "fold$k" --holdout-fold "$k"
    done
    wait_all
done

# 4. scenes with several small faces, each fold's from its own sources
for k in 0 1 2 3; do
    sc="$work/scenes_f$k"
    [ -s "$sc/dump.jsonl" ] && continue
    log "scenes of fold $k"
    "$py" bench/compose_scenes.py --set "$set_dir" --out "$sc" --n "${limit:-150}" \
        --sources "${fold_sources[$k]}" >"$work/scenes_f$k.log"
    (cd "$sc" && tail -n +2 manifest.tsv | cut -f1 | "$build/evidence_dump" - >dump.part && mv dump.part dump.jsonl)
done

# 5. the out-of-fold evidence for the decision (and 6. the final model beside it)
models=("$work"/fold0.pt "$work"/fold1.pt "$work"/fold2.pt "$work"/fold3.pt)
for h in 00 01; do
    [ -s "$work/feats_$h.pkl" ] && continue
    log "features of dump $h"
    run "feats_$h" "$py" tools/fit_decision.py features --threads 1 --dump "$work/dump_$h.jsonl" \
        --train-set "$set_dir" --models "${models[@]}" --out "$work/feats_$h.pkl"
done
wait_all
for k in 0 1 2 3; do
    [ -s "$work/feats_sc$k.pkl" ] && continue
    log "features of fold $k's scenes"
    "$py" tools/fit_decision.py features --threads 2 --dump "$work/scenes_f$k/dump.jsonl" \
        --train-set "$work/scenes_f$k" --models "${models[@]}" --model-for-all "$k" \
        --source-name "composed$k" --out "$work/feats_sc$k.pkl" >"$work/feats_sc$k.log" 2>&1
done
if [ ! -s "$work/final.pt" ]; then
    log "final model (all sources)"
    train final --threads 2
    wait_all
fi

# 7. the decision's constants
if [ ! -s "$work/fit.md" ]; then
    log "fit"
    "$py" tools/fit_decision.py fit --low --form logistic --schedules Z --restarts 10 \
        --features "$work"/feats_*.pkl --record "$work/fit.tmp.md" \
        >"$work/fit.log" 2>&1
    mv "$work/fit.tmp.md" "$work/fit.md"
fi
"$py" - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
temps = [json.load(open(f"{work}/fold{k}.pt.json"))["temperature"] for k in range(4)]
chosen = json.loads(re.search(r"Chosen: `(.*)`", open(f"{work}/fit.md").read()).group(1))
print(f"fold temperatures {temps}, fitted T {chosen['T']}: export at "
      f"{sum(temps) / len(temps) * chosen['T']:.4f}")
PY
log "done: $work/fit.md has the constants and the per-source table"
