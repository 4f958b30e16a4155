"""Intent detector quality and speed for the three methods: the rules (the product's default), "ngram"
(rules + a TF-IDF n-gram head, numpy only) and "hybrid" (rules + a MiniLM-embedding head, opt-in with
REVOPS_INTENT_METHOD=hybrid): per-type precision/recall on the labelled dev set (all, dev split,
hash-holdout split, real-world subset; the rules only), on the development sets fresh, v2, v3, v4, v5
v6 and v7 (v6 also with the rules before round 4 and with round 4's; v7 also with round 4's and round 5's),
on v8 (a development set since round 7, also with round 5's and round 6's rules) and on the frozen v9 holdout
(gated for the shipped default; also run with round 6's rules, before round 7); out-of-sample figures recorded in the head and in the n-gram weights (nested CV,
leave-one-set-out); whether both match a retrain; the n-gram cold-start time; classify_many throughput
(rules on 100k texts, ngram on 20k, hybrid on 3k).

Nine data sets, from most to least seen (v6 is described with round 4, v7 with round 5, v8 at the end with round 6):
- tests/data/intent_devset.jsonl (with its hash "holdout" split): what the rules are tuned on.
- tests/data/intent_holdout_fresh.jsonl ("fresh", 179 news headlines): written before the 2025
  precision rework as a holdout; its errors were studied and fixed in round 2, so it is now a
  DEVELOPMENT set and its figures are optimistic (reported, not gated). Its honest figures, before
  any tuning, tp/fp/fn: funding P0.844 R0.931 27/5/2, hiring P0.909 R0.952 20/2/1, leadership
  P1.000 R0.955 21/0/1, launch P0.625 R0.870 20/12/3; after round 1: launch P0.840 (21/4/2).
- tests/data/intent_holdout_v2.jsonl ("v2", 242 headlines: 31 funding, 26 hiring, 25 leadership,
  31 launch incl. 4 two-label, 133 hard negatives): written and labelled BEFORE round 2 of tuning,
  committed alone, never used to tune (only its per-type figures were looked at, never its errors).
  Its figures before round 2 (the honest held-out ones), tp/fp/fn:
      funding            P 0.964  R 0.871  27/1/4
      hiring             P 0.952  R 0.769  20/1/6
      leadership_change  P 0.958  R 0.920  23/1/2
      product_launch     P 0.591  R 0.839  26/18/5
  After round 2 only launch precision moved (0.765, 26/8/5; funding R 0.903): launch precision is
  still below target. Caveat: the same helper wrote v2 and the round-2 rules, and round 2 added
  non-product launch objects in categories v2 also covers (bids, campaigns, listings, data), so the
  after figures are less independent than the before figures.
  Round 3 then studied v2's errors and fixed them, so v2 is now a DEVELOPMENT set (reported, not
  gated); after round 3: P/R 1.000/1.000 for funding (31/0/0), hiring
  (26/0/0) and leadership (25/0/0), launch P 1.000 R 0.968 (30/0/1): fitted figures, not evidence.
- tests/data/intent_holdout_v3.jsonl ("v3", 285 headlines: 34 funding, 30 hiring, 30 leadership,
  34 launch incl. 8 two-label, 165 hard negatives): written from scratch and committed alone BEFORE
  round 3, before its author read the rules or any detector error; never tuned on (only its per-type
  figures were looked at, once before and once after round 3). Its figures, tp/fp/fn:
                         before round 3            after round 3
      funding            P 0.808  R 0.618  21/5/13    P 0.828  R 0.706  24/5/10
      hiring             P 0.846  R 0.367  11/2/19    P 0.900  R 0.600  18/2/12
      leadership_change  P 0.818  R 0.600  18/4/12    P 0.826  R 0.633  19/4/11
      product_launch     P 0.640  R 0.471  16/9/18    P 0.692  R 0.529  18/8/16
  v3 negatives that fired anything: 20 of 165 before, 19 after. Every type MISSES on v3 (only hiring
  precision reaches 0.9): round 3 fitted v2 to ~100% but moved v3 little, i.e. the rules generalise
  poorly to phrasing they were not written against; launch precision is still far below target.
  Caveats: the same helper wrote v3 and the round-3 rules, so it could not forget v3's phrasings;
  round 3 only added rules for errors seen on the dev set, the fresh set and v2 (and cases of the
  helper's own unit tests), but the after figures are still less independent than the before ones.
  The batch/gate agreement test runs over v3 too (a gate must never block); it exposed one gate bug
  on a v3 line (job "openings" were not gated), fixed as a gate bug, not as a rule.

- tests/data/intent_holdout_v4.jsonl ("v4", 318 headlines: 40 funding, 36 hiring, 35 leadership,
  37 launch incl. 8 two-label, 178 hard negatives): written from scratch and committed alone BEFORE
  the hybrid existed and before its author read the rules or ran anything on it; never tuned or
  trained on until its figures below were recorded. The author of v4 also wrote the hybrid (same
  caveat as v3).
  v3 and v4 are DEVELOPMENT sets since the ngram work: both learned heads are trained on them (the
  rules were not changed). Their honest frozen-holdout figures are the ones recorded below; what the
  bench prints for them now is fitted for the learned methods (the rules' figures are unchanged).
- tests/data/intent_holdout_v5.jsonl ("v5", 327 headlines: 42 funding, 40 hiring, 40 leadership,
  41 launch incl. 8 two-label, 172 hard negatives; wire, trade, regional and non-US press, press
  releases, tabloid verbs): written from scratch and committed alone (6104ee2) BEFORE the ngram method
  existed, before the hybrid was retrained and before anything was run on it; lines paraphrasing an
  event already in another set were replaced. Run ONCE, after everything below was fixed, aggregate
  per-type figures only; never tuned or trained on. Caveats: the same helper wrote v5 and the ngram
  method; before writing v5 it had read intent.py's module docstring (a summary of the rules), not
  the patterns; and every set since v3 comes from the same kind of author, so v5 measures
  generalisation to that author's new phrasings, not to a real feed.

The first hybrid (revops_assets/scoring/intent_model.py): per type, a logistic regression over the 384-d
MiniLM embedding + the rules' four per-type confidences, Platt-calibrated and thresholded for
out-of-fold precision >= 0.9, trained only on the dev set, the fresh set and v2. Rule features for the
fresh set and v2 come from the last rules version not tuned on them (their honest outputs); thresholds
and calibration use only those rows. Everything (C=4, folds, threshold rule) was fixed before v3/v4
were run; v3 and v4 were then run ONCE, aggregate figures only, no iteration afterwards. tp/fp/fn:
  nested 5-fold CV on the training rows with honest rule features (421 rows):
                         rules                     hybrid
      funding            P 0.902  R 0.917  55/6/5   P 0.887  R 0.917  55/7/5
      hiring             P 0.930  R 0.851  40/3/7   P 0.911  R 0.872  41/4/6
      leadership_change  P 0.978  R 0.936  44/1/3   P 0.939  R 0.979  46/3/1
      product_launch     P 0.697  R 0.852  46/20/8  P 0.905  R 0.704  38/4/16
  v3 (frozen):
      funding            P 0.828  R 0.706  24/5/10  P 0.828  R 0.706  24/5/10
      hiring             P 0.900  R 0.600  18/2/12  P 0.857  R 0.800  24/4/6
      leadership_change  P 0.826  R 0.633  19/4/11  P 0.800  R 0.800  24/6/6
      product_launch     P 0.692  R 0.529  18/8/16  P 0.882  R 0.441  15/2/19
      all types          tp/fp/fn 79/19/49          87/17/41
  v4 (frozen):
      funding            P 0.969  R 0.775  31/1/9   P 0.969  R 0.775  31/1/9
      hiring             P 1.000  R 0.611  22/0/14  P 0.969  R 0.861  31/1/5
      leadership_change  P 1.000  R 0.771  27/0/8   P 0.933  R 0.800  28/2/7
      product_launch     P 0.808  R 0.568  21/5/16  P 0.882  R 0.405  15/2/22
      all types          tp/fp/fn 101/6/47          105/6/43
  Reading: in aggregate the hybrid finds more (v3 +8 tp, v4 +4 tp) with no more false positives
  (v3 19 -> 17, v4 6 -> 6); hiring and leadership gain recall (+0.17 to +0.25) for a few false
  positives; launch trades recall for precision (P 0.69/0.81 -> 0.88, R 0.53/0.57 -> 0.44/0.41);
  funding is unchanged. The hybrid ships for every type (no per-type choice made after seeing v3/v4).
  Still no type passes on v3; on v4 the hybrid passes funding, hiring and leadership, launch misses.
  Throughput: rules ~28k texts/s; hybrid ~280 distinct texts/s on 2 cores (embedding-bound), plus a
  one-off model load of ~8-15 s per process.

The ngram method and the retrained hybrid (after v3/v4's figures above were recorded; v3 and v4 are
training data from here on). Both learned heads are trained on the dev set, fresh, v2, v3 and v4
(1,489 rows); rule features for fresh/v2/v3/v4 come from the last rules version not tuned on them
(v3/v4: 40f9076, the rules evaluated on them), so 1,024 rows are "honest" and calibration/thresholds
use only those; recipe unchanged (C=4, 5 folds, threshold = best OOF recall at precision >= 0.9).
- ngram (intent_ngram.py): TF-IDF word 1-2-grams + char 3-5-grams (money -> zmoney, numbers -> znum,
  min_df 2: 15,491 features) + the rule confidences; weights 876 KB JSON, applied with numpy; cold
  start (import + load + one text) ~0.2 s; ~5-10k texts/s.
- hybrid retrained: same design as before, more data.
Out-of-sample on the training sets before v5 was run, P/R tp/fp/fn:
                         rules                    ngram                    hybrid (retrained)
  5-fold CV, honest rows (1,024):
      funding            0.902/0.821 110/12/24    0.905/0.851 114/12/20    0.888/0.828 111/14/23
      hiring             0.941/0.708  80/5/33     0.860/0.920 104/17/9     0.874/0.920 104/15/9
      leadership_change  0.947/0.804  90/5/22     0.886/0.973 109/14/3     0.878/0.902 101/14/11
      product_launch     0.720/0.680  85/33/40    0.910/0.568  71/7/54     0.899/0.568  71/8/54
  leave-one-set-out (trained on the other four sets), ngram:
      v3: funding 0.848/0.824 28/5/6, hiring 0.806/0.967 29/7/1, leadership 0.788/0.867 26/7/4,
          launch 0.857/0.353 12/2/22; all types 95/21/33 (rules 79/19/49)
      v4: funding 1.000/0.750 30/0/10, hiring 1.000/0.778 28/0/8, leadership 0.895/0.971 34/4/1,
          launch 1.000/0.459 17/0/20; all types 109/4/39 (rules 101/6/47)
  (Prototype, not shipped: one logistic regression over n-grams + 0.5 x embedding + rules, left-out
  v3 100/15/28 and v4 113/3/35 -- the best of the variants tried, at the hybrid's model-load cost.)
  Tried on the same CV and dropped (no clear gain): C=1 and C=16; a precision target of 0.95 (it
  kills launch recall: left-out v3 launch R 0.06); rule "pattern matched but vetoed" flags; case-shape
  features of the next word.
Pre-registered before v5 was run: the ngram method is recommended as the product default (a change to
Settings that this bench gates on v5 once made) iff on v5, summed over the four types, ngram has more
true positives than the rules AND no more false positives; otherwise the rules stay the default.

v5 (frozen holdout then; a development set since round 4), run once after everything above was committed (ff0e574), tp/fp/fn:
                         rules                     ngram                     hybrid (retrained)
      funding            P 0.842  R 0.762  32/6/10  P 0.814  R 0.833  35/8/7   P 0.865  R 0.762  32/5/10
      hiring             P 0.967  R 0.725  29/1/11  P 0.972  R 0.875  35/1/5   P 0.949  R 0.925  37/2/3
      leadership_change  P 1.000  R 0.700  28/0/12  P 0.946  R 0.875  35/2/5   P 0.833  R 0.875  35/7/5
      product_launch     P 0.771  R 0.659  27/8/14  P 0.864  R 0.463  19/3/22  P 0.889  R 0.585  24/3/17
      all types          116/15/47                  124/14/39                  128/17/35
  v5 negatives that fired anything (of 172): rules 14, ngram 14, hybrid 17.
  Reading: no method meets the design target on v5. The rules pass no type (funding and launch
  precision 0.84/0.77; hiring, leadership and launch recall 0.66-0.73). ngram passes hiring and
  leadership (P >= 0.946, R 0.875), misses funding precision (0.81: 8 false positives, more than the
  rules' 6) and launch (P 0.86, R 0.46: it fires less on launches than the rules). The hybrid passes
  hiring only; its leadership precision drops to 0.83. Launch remains the weak type for every method.
  Pre-registered decision: ngram has more true positives than the rules (124 > 116) and no more false
  positives (14 <= 15), so it is the recommended default; the default itself lives in Settings
  (REVOPS_INTENT_METHOD), outside this change, so until Settings accepts "ngram" and defaults to it
  the gated default on v5 is still the rules (the MISSED lines). v5 is now spent as a holdout: its
  figures are recorded here and it must not be tuned or trained on; a v6 is needed for the next change.
  What was done with that recommendation: Settings accepts REVOPS_INTENT_METHOD=ngram (opt-in), and the
  default stays the rules for now, for two reasons the pre-registered rule did not weigh: (1) the
  design's target is precision, and ngram lowers it for two of the four types on v5 (funding 0.84 ->
  0.81, leadership 1.00 -> 0.95) while raising it for launches (0.77 -> 0.86); (2) on the sample
  workspace's own news (2,000 accounts, 2,089 headlines) ngram drops 34 of 192 launch signals and
  adds 37 leadership false positives (98 vs 61) against the rules, which changes every score
  downstream, and the lead_scores benchmark (model vs prior on the hidden truth) would have to be re-run
  on it before it ships as the default.

Round 4 (2026-12-07). v5 became a development set.
- tests/data/intent_holdout_v6.jsonl ("v6", 346 headlines: 45 funding, 40 hiring, 40 leadership,
  40 launch incl. 8 two-label, 189 hard negatives; wire, trade, regional and non-US press, press-release
  title case): written from scratch and committed alone (36bf745) BEFORE the author read intent.py's
  patterns this round and before anything ran on it; lines duplicating or paraphrasing an event of an
  older set were dropped or replaced before the commit. The commit message pre-registers the protocol
  and the default decision (below).
- The rules (intent.py, "Round 4" in its docstring) were then tuned on the errors of v3, v4 and v5
  (reviewed line by line: funding and launch false positives, every miss) with shape-level fixes: wire
  and regional funding verbs, debt raises, contract/charity/sovereign/"round of" vetoes; seeks/wants/
  targets N job nouns, recruitment drives, staffing up; "boss"/"top job" titles, handovers, sackings,
  successors; reveal verbs, availability/arrival shapes; rockets, lists, store designs, clauses,
  hedged/leaked launches and the bare noun "launch" vetoed. Rules throughput ~41k -> ~24k texts/s.
- ngram retrained with v5 added (1,816 rows; v5's rule features from 024050a, the rules evaluated on
  it before round 4); leave-one-set-out on v5 reproduces v5's recorded honest ngram figures exactly.
  The hybrid was not retrained (its head is unchanged; it runs on the new rules' features).
- Tried and dropped: a precision veto (rules fire only when the ngram probability >= t). On v5, with
  neither the rules nor the head tuned on it, t in 0.05-0.3 removed at most 1 of 15 false positives:
  the head's probability follows the rule features, so it cannot veto them.
v5 (now development) before and after round 4, tp/fp/fn (after = fitted, not evidence):
                         rules before              rules after round 4       ngram after (trained on v5)
      funding            P 0.842  R 0.762  32/6/10  P 1.000  R 1.000  42/0/0   P 1.000  R 1.000  42/0/0
      hiring             P 0.967  R 0.725  29/1/11  P 1.000  R 1.000  40/0/0   P 1.000  R 1.000  40/0/0
      leadership_change  P 1.000  R 0.700  28/0/12  P 1.000  R 1.000  40/0/0   P 0.930  R 1.000  40/3/0
      product_launch     P 0.771  R 0.659  27/8/14  P 0.975  R 0.951  39/1/2   P 1.000  R 0.854  35/0/6
      all types          116/15/47                  161/1/2                    157/3/6
  (hybrid after, not trained on v5 but on the tuned rules' features: 157/8/6, leadership P 0.851.)
  v3 and v4 after round 4 (fitted): rules 123/0/5 and 145/0/3 (were 79/19/49 and 101/6/47).
Pre-registered in v6's commit message: the rules stay the default unless another method M (ngram or a
new rules+head combination; the hybrid is not eligible: model load and torch) has on v6, summed over
the four types, more tp than the rules AND no more fp, AND per type precision(M) >= precision(rules)
- 0.03; v6 run once at the end for every method and for the rules before round 4.
v6 (frozen holdout), run once (--quick) after the detectors were committed (6447e41; this bench's v6 code was
committed with these figures), tp/fp/fn:
                         rules before round 4      rules (round 4)           ngram (retrained)         hybrid
      funding            P 0.913 R 0.467 21/2/24   P 1.000 R 0.733 33/0/12   P 1.000 R 0.733 33/0/12   P 1.000 R 0.711 32/0/13
      hiring             P 1.000 R 0.550 22/0/18   P 1.000 R 0.875 35/0/5    P 0.902 R 0.925 37/4/3    P 0.907 R 0.975 39/4/1
      leadership_change  P 1.000 R 0.775 31/0/9    P 1.000 R 0.850 34/0/6    P 0.864 R 0.950 38/6/2    P 0.857 R 0.900 36/6/4
      product_launch     P 0.892 R 0.825 33/4/7    P 0.973 R 0.900 36/1/4    P 1.000 R 0.650 26/0/14   P 1.000 R 0.800 32/0/8
      all types          107/6/58                  138/1/27                  134/10/31                 139/10/26
  v6 negatives that fired anything (of 189): rules 1, ngram 10, hybrid 10.
  Reading: the round-4 rules meet the precision target for every type on v6 (1.00/1.00/1.00/0.97) and
  recall >= 0.75 for hiring, leadership and launch; funding recall is 0.733 -- MISSED (target 0.75).
  Against the pre-round-4 rules on the same unseen text: +31 tp, -5 fp. ngram and the hybrid find more
  hiring/leadership but fire on 10 negatives each (hiring and leadership precision 0.86-0.91) and the
  ngram loses launch recall (0.65). Decision (pre-registered rule): ngram has fewer tp than the rules
  (134 < 138) and more fp (10 > 1), so the rules stay the default; nothing changes in Settings.
  Caveats, stronger than in earlier rounds: the same helper wrote v6 and, within the hour, the round-4
  rules, so it could not forget v6's phrasings. Most fixes answer v3-v5 errors, but some funding and
  hiring words were added without a v3-v5 error behind them and do occur in v6 ("pockets", "banks",
  "tops up with", "clinches", "obtains", "signs"/"arranges" a credit or securitisation facility,
  "issues" convertible bonds, a "senior secured term loan", "induct", "needs ... extra hands",
  "colleagues"; and the "flood victims" charity veto): up to 9 of the 33 funding tp and 3 of the 35
  hiring tp (and 1 funding fp avoided) may owe something to that (not measured: v6 runs once), so the
  funding figure could be as low as R 0.53 on truly unseen text. v6's negatives were also easier than
  v5's (the pre-round-4 rules fired on 6 of 189, on v5 on 14 of 172). Every set since v3 comes from the
  same kind of author: v6 measures generalisation to that author's new phrasings, not to a real feed.
  v6 is now spent as a holdout; a v7 is needed for the next change. Not checked this round (--quick):
  whether the committed hybrid head still matches a retrain -- the dev set's rule features (HEAD rules)
  changed on 2 of 465 rows, and a hybrid retrain was out of this round's CPU budget.
  On the sample workspace's own news (seeds 42 and 43 of the 2,000-account lead_scores sample, 1,984 and
  2,034 items, title + text as the scout classifies them) the round-4 rules give exactly the signals of
  the rules before (per type tp/fp/fn vs truth unchanged: seed 42 funding 219/40/0, hiring 391/44/0,
  leadership 147/122/0, launch 191/0/1), so downstream scores do not move.

Round 5 (2026-12-07). v6 became a development set.
- tests/data/intent_holdout_v7.jsonl ("v7", 350 headlines: 45 funding, 43 hiring, 43 leadership, 44
  launch incl. 8 two-label, 183 hard negatives, per its commit 54ea61e): written and committed alone by
  a DIFFERENT author from the one who tuned round 5, who never read the rules or ran a detector on it.
  The round-5 author never opened, grepped or diffed it; it is read only through this bench, once,
  per-type totals only.
- The rules (intent.py, "Round 5" in its docstring) were tuned on v6's errors (every miss and the
  launch false positive) with vocabulary-class fixes: currency classes (A$/C$/R$/HK$..., ISO codes, the
  rand, "100 billion won"), more funding verbs and nouns (gathers, amasses, scores, borrows from a
  lender, private placements, fundraises); present-tense headcounts, pledged jobs, staffing a site
  "with N workers"; "<function> director", qualified function chiefs, lures/woos, swaps CEO, a bare
  "chief" in departures, "ousts <First Last>"; "brings out", a product brought/taken "to" a place, a
  service started, "adds X to US menus"; a takeover "approach" vetoed. Precision guards from probes
  (public-body chiefs, chief of staff, non-executive directors, auctions/box office/market value, a
  state's borrowing, sports sackings). Throughput: ~18.4k -> ~18.0k texts/s measured side by side on
  the loaded machine (money's letter prefixes only at a word start).
- The learned heads are unchanged: their only HEAD-rules training rows (the dev set) get identical rule
  outputs from round 5's rules (the other sets are pinned to older rules), so both `check`s pass.
Pre-registered (commit message of the commit that added v7 to this bench, before it ran): the rules stay
the default unless the ngram method (or a new rules+head combination; the hybrid is not eligible: model
load and torch) has on v7, summed over the four types, more tp than the rules AND no more fp, AND per
type precision(M) >= precision(rules) - 0.03. v7 is run once (--quick) for every method and for round
4's rules; reported: per type tp/fp/fn and P/R on v7 for rules (round 5), rules (round 4), ngram and
hybrid, v7 negatives that fired anything, and which types meet the target for the shipped default.

v6 (development since round 5) before and after round 5, rules, tp/fp/fn (after = fitted, not evidence):
                         rules of round 4 (39d30d9)  rules of round 5
      funding            P 1.000 R 0.733 33/0/12     P 1.000 R 1.000 45/0/0
      hiring             P 1.000 R 0.875 35/0/5      P 1.000 R 1.000 40/0/0
      leadership_change  P 1.000 R 0.850 34/0/6      P 1.000 R 1.000 40/0/0
      product_launch     P 0.973 R 0.900 36/1/4      P 1.000 R 1.000 40/0/0
      all types          138/1/27                    165/0/0
  Other development sets after round 5 (fitted): v3 123/0/5 (unchanged), v4 147/0/1 (was 145/0/3),
  v5 162/1/1 (was 161/1/2); dev, fresh and v2 unchanged; no development set lost precision.
v7 (frozen holdout), run ONCE (--quick) after ebcb452 (the pre-registration), per-type totals only, tp/fp/fn:
                         rules of round 4 (before)  rules of round 5           ngram                      hybrid
      funding            P 0.865 R 0.711 32/5/13    P 0.884 R 0.844 38/5/7     P 0.884 R 0.844 38/5/7     P 0.884 R 0.844 38/5/7
      hiring             P 0.972 R 0.814 35/1/8     P 0.973 R 0.837 36/1/7     P 0.913 R 0.977 42/4/1     P 0.955 R 0.977 42/2/1
      leadership_change  P 0.914 R 0.744 32/3/11    P 0.919 R 0.791 34/3/9     P 0.804 R 0.953 41/10/2    P 0.750 R 0.907 39/13/4
      product_launch     P 0.881 R 0.841 37/5/7     P 0.864 R 0.864 38/6/6     P 0.963 R 0.591 26/1/18    P 0.914 R 0.727 32/3/12
      all types          136/14/39                  146/15/29                  147/20/28                  151/23/24
  v7 negatives that fired anything (of 183): rules 13, ngram 20, hybrid 23.
  Reading: on text the round-5 author never saw, written by a different author, the round-5 rules meet
  the target for hiring (P 0.97, R 0.84) and leadership (P 0.92, R 0.79); funding recall now passes
  (0.84, was 0.71 with round 4's rules) but funding precision MISSES (0.884: 5 false positives, as many
  as round 4's rules had), and launch MISSES precision (0.864: 6 false positives, one more than round
  4's rules). Against round 4's rules on the same unseen text: +10 tp, +1 fp (launch). v7 was harder
  than v6 for round 4's rules too (136/14/39 vs 138/1/27 on v6; 14 fp vs 1): v6's figures flattered
  them, as its caveat said. No rule, threshold or head was changed after this run.
  Decision (pre-registered rule): ngram has 1 more tp than the rules (147 > 146) but more fp (20 > 15),
  and its leadership precision (0.804) is more than 0.03 below the rules' (0.919), so it does not
  qualify; the rules stay the default and nothing changes in Settings. The hybrid (not eligible) finds
  the most (151 tp) with the most false positives (23; leadership P 0.75).
  Throughput: the bench's one --quick run measured 14.1k texts/s for the rules (one pass of 20k texts
  on 2 shared cores while a CI run and other benchmarks ran); side by side in one process on the same
  corpus, round 4's and round 5's final rules ran at 18.5k/18.0k and 19.7k/19.6k texts/s (two runs), so
  round 5 costs ~0-3%; the drop from round 4's ~24k is the machine's load, not the rules.
  On the sample workspace's own news (seeds 42 and 43 of the 2,000-account lead_scores sample, 1,984 and
  2,034 items, title + text as the scout classifies them, as-of 2026-12-06) round 5's rules fire exactly
  the same types on every item as round 4's (per type tp/fp/fn vs truth unchanged: seed 42 funding
  219/40/0, hiring 391/44/0, leadership 147/122/0, launch 191/0/1; seed 43 205/45/1, 430/49/0,
  135/128/0, 181/0/0), but the funding confidence of the "secures growth financing from <investor>"
  template rises from 0.85 to 0.90 on 35 (seed 42) and 39 (seed 43) items (capital/financing "from"
  now matches a second pattern, +0.05 for agreement), so those accounts' intent scores rise slightly;
  the lead_scores benchmark was not re-run.
  v7 is now spent as a holdout; a v8 is needed for the next change.

Round 6 (2026-12-07). v7 became a development set.
- tests/data/intent_holdout_v8.jsonl ("v8", 357 headlines: 47 funding, 45 hiring, 46 leadership, 46
  launch incl. 8 two-label, 181 hard negatives, per its commit 785319a): written and committed alone by a
  DIFFERENT author from the one who tuned round 6, who never read the rules or ran a detector on it. The round-6 author never
  opened, grepped or diffed it; it is read only through this bench, once, per-type totals only.
- The rules (intent.py, "Round 6" in its docstring) were tuned on v7's errors, above all its 15 false
  positives (funding 5, launch 6, leadership 3, hiring 1), with class-level fixes: charity/relief appeals,
  public debt (Eurobonds, gilts, a country or US state selling bonds), purchase prices and bills, corporate
  actions and a company's debut "with $X" as non-launches, a partnership's purpose, searched-for / weighed /
  analysed leadership changes, more layoff verbs; and three over-broad older vetoes narrowed ("halt" inside
  "Halter", a place word describing the company, hyphenated compounds). Recall: plainer funding verbs
  ("gets / draws down / agrees <money>"), hunts and intakes of N workers, more occupations, more leadership
  shapes (promote ... to, made permanent, back in charge, walks out / moves on, named successor), "premieres",
  "arrives at <price>", subscription plans. Unit tests in new wording for each class (test_intent.py).
- Both learned heads retrained: one dev-set row's rule confidence changed (0.85 -> 0.90, a second pattern
  now agrees), the other sets stay pinned to their older rules; v6/v7/v8 are not training data.
Pre-registered (commit message of the commit that added v8 to this bench, before it ran): as rounds 4 and
5, the rules stay the default unless the ngram method (or a new rules+head combination; the hybrid is not
eligible: model load and torch) has on v8, summed over the four types, more tp than the rules AND no more
fp, AND per type precision(M) >= precision(rules) - 0.03. v8 is run once (--quick) for every method and for
round 5's rules.

v7 (development since round 6) before and after round 6, rules, tp/fp/fn (after = fitted, not evidence):
                         rules of round 5 (bd6d5bb)  rules of round 6
      funding            P 0.884 R 0.844 38/5/7      P 0.978 R 1.000 45/1/0
      hiring             P 0.973 R 0.837 36/1/7      P 1.000 R 1.000 43/0/0
      leadership_change  P 0.919 R 0.791 34/3/9      P 1.000 R 1.000 43/0/0
      product_launch     P 0.864 R 0.864 38/6/6      P 1.000 R 0.977 43/0/1
      all types          146/15/29                   174/1/1
  v7 negatives that fired anything (of 183): 13 -> 1 (a VC firm raising its own fund, left alone).
  Other development sets after round 6 (fitted): dev 266/0/0, fresh 95/0/0, v2 112/0/1, v3 123/0/5,
  v4 147/0/1, v5 162/1/1, v6 165/0/0 -- all unchanged; no development set lost precision or recall.
v8 (frozen holdout), run ONCE (--quick) after 0ab06a1 (the pre-registration), per-type totals only, tp/fp/fn:
                         rules of round 5 (before)  rules of round 6           ngram                      hybrid
      funding            P 0.927 R 0.809 38/3/9     P 0.976 R 0.851 40/1/7     P 0.976 R 0.872 41/1/6     P 0.976 R 0.851 40/1/7
      hiring             P 0.974 R 0.822 37/1/8     P 0.974 R 0.844 38/1/7     P 0.913 R 0.933 42/4/3     P 0.898 R 0.978 44/5/1
      leadership_change  P 1.000 R 0.935 43/0/3     P 1.000 R 0.957 44/0/2     P 0.900 R 0.978 45/5/1     P 0.898 R 0.957 44/5/2
      product_launch     P 0.875 R 0.913 42/6/4     P 0.894 R 0.913 42/5/4     P 0.971 R 0.717 33/1/13    P 0.925 R 0.804 37/3/9
      all types          160/10/24                  164/7/20                   161/11/23                  165/14/19
  v8 negatives that fired anything (of 181): rules 7, ngram 11, hybrid 14.
  Reading: on text the round-6 author never saw, written by a different author, the round-6 rules meet the
  target for funding (P 0.98, R 0.85), hiring (P 0.97, R 0.84) and leadership (P 1.00, R 0.96); launch
  MISSES precision (0.894: 5 false positives; recall 0.91 passes). Against round 5's rules on the same
  unseen text: +4 tp, -3 fp (funding 3 -> 1 fp, launch 6 -> 5). v8 was easier than v7 for round 5's rules
  (160/10/24 vs 146/15/29), so part of round 6's v8 figure is the set, not the round; the before/after on
  v8 is the fair comparison. Launch stays the weakest type for the rules on every set since v3.
  No rule, threshold or head was changed after this run.
  Decision (pre-registered rule): ngram has fewer tp than the rules (161 < 164) and more fp (11 > 7), and
  its leadership precision (0.900) is more than 0.03 below the rules' (1.000), so it does not qualify; the
  rules stay the default and nothing changes in Settings. The hybrid (not eligible) finds the most (165 tp)
  with the most false positives (14).
  Throughput: the bench's one --quick run measured 19.0k texts/s for the rules; side by side in one
  process on the same 20k texts, round 5's and round 6's rules ran at 18.8k/17.9k and 19.2k/18.4k texts/s
  (two runs), so round 6 costs ~4%.
  On the sample workspace's own news (seeds 42 and 43 of the 2,000-account lead_scores sample, 1,984 and
  2,034 items, title + text as the scout classifies them, as-of 2026-12-06, from the kept workspaces)
  round 6's rules fire the same types as round 5's on every item but one: seed 43 gains one funding tp
  ("Haltal Labs nets $18 million in Series B funding": the old "halt" negation matched inside the name),
  funding 205/45/1 -> 206/45/0; on seed 42 one item's funding confidence rises 0.85 -> 0.90 (same name
  shape, types unchanged: funding 219/40/0, hiring 391/44/0, leadership 147/122/0, launch 191/0/1); the
  per-type counts are otherwise unchanged; the lead_scores benchmark was not re-run.
  v8 is now spent as a holdout; a v9 is needed for the next change.

Round 7 (2026-12-07). v8 became a development set.
- tests/data/intent_holdout_v9.jsonl ("v9"): written and committed alone by a DIFFERENT author from the one
  who tuned round 7, who never read the rules or ran a detector on it. The round-7 author never opened,
  grepped or diffed it; it is read only through this bench, once, per-type totals only.
- The rules (intent.py, "Round 7" in its docstring) were tuned on v8's errors (its 7 false positives, launch
  5, funding 1, hiring 1, and its misses) with class-level fixes: routes, timetables, public programmes and
  schemes, memoirs and books are not launches, nor is an intransitive launch of a non-product subject
  ("overhaul launches next month") or a feature "spotted in testing"; "puts hiring on hold" is a freeze; a
  market's total ("startups raised ..., report says") is not a round. Recall: more ISO currency codes,
  "harvests/reaps <money>", pre-Series rounds, convertibles and asset-backed/warehouse facilities; "to
  recruit/hire/take on N for|at", "recruitment of N", "applications for N places", more occupations; a
  title "handed" on, a chief "sent home/packing"; "takes wraps off", "goes live in <market>".
  No development set's rule output changed (dev, fresh, v2-v7 row by row identical), so both learned heads
  are unchanged and their `check`s pass.
v8 (development since round 7) before and after round 7, rules, tp/fp/fn (after = fitted, not evidence):
                         rules of round 6 (4cbe175)  rules of round 7
      funding            P 0.976 R 0.851 40/1/7      P 1.000 R 0.979 46/0/1
      hiring             P 0.974 R 0.844 38/1/7      P 1.000 R 0.978 44/0/1
      leadership_change  P 1.000 R 0.957 44/0/2      P 1.000 R 1.000 46/0/0
      product_launch     P 0.894 R 0.913 42/5/4      P 1.000 R 0.957 44/0/2
      all types          164/7/20                    180/0/4
  v8 negatives that fired anything (of 181): 7 -> 0. Left as misses on purpose (one-off shapes, no class
  behind them): "draws 124 billion won" (a bare "draws <money>" is also a box-office figure), "seeks 300
  Omani nationals" (nationals is not an occupation), "presents <car> at <show>", "announces PlayStation
  Portal handheld". Other development sets after round 7: dev, fresh, v2-v7 row-by-row identical.
  Throughput, side by side in one process on the same 20k texts: round 6 16.3k/16.4k/15.7k/16.8k, round 7
  15.0k/15.2k/15.5k/15.8k texts/s (four runs on the loaded machine), so round 7 costs ~3-8%.
Pre-registered (commit message of the commit that added v9 to this bench, before it ran): as rounds 4-6, the
rules stay the default unless the ngram method (or a new rules+head combination; the hybrid is not eligible:
model load and torch) has on v9, summed over the four types, more tp than the rules AND no more fp, AND per
type precision(M) >= precision(rules) - 0.03. v9 is run once (--quick) for every method and round 6's rules.
v9 (frozen holdout, 364 headlines: 49 funding, 47 hiring, 48 leadership, 46 launch incl. 8 two-label, 182
hard negatives, per its commit baff8bb), run ONCE (--quick) after 4a412bb (the pre-registration), per-type
totals only, tp/fp/fn:
                         rules of round 6 (before)  rules of round 7           ngram                      hybrid
      funding            P 0.940 R 0.959 47/3/2     P 0.941 R 0.980 48/3/1     P 0.940 R 0.959 47/3/2     P 0.941 R 0.980 48/3/1
      hiring             P 1.000 R 0.915 43/0/4     P 1.000 R 0.957 45/0/2     P 0.979 R 0.979 46/1/1     P 0.940 R 1.000 47/3/0
      leadership_change  P 0.952 R 0.833 40/2/8     P 0.952 R 0.833 40/2/8     P 0.913 R 0.875 42/4/6     P 0.846 R 0.917 44/8/4
      product_launch     P 0.902 R 1.000 46/5/0     P 0.939 R 1.000 46/3/0     P 1.000 R 0.717 33/0/13    P 1.000 R 0.957 44/0/2
      all types          176/10/14                  179/8/11                   168/8/22                   183/14/7
  v9 negatives that fired anything (of 182): rules 8, ngram 8, hybrid 14.
  Reading: on text the round-7 author never saw, written by a different author, the round-7 rules meet the
  target for all four types: funding P 0.941 R 0.980, hiring P 1.000 R 0.957, leadership P 0.952 R 0.833,
  launch P 0.939 R 1.000 (launch precision passes on a frozen set for the first time since v6). Against
  round 6's rules on the same unseen text: +3 tp, -2 fp (hiring +2 tp, funding +1 tp, launch 5 -> 3 fp;
  leadership unchanged). Round 6's rules already passed every type on v9 (launch P 0.902, barely), so v9
  was easier than v8 for them (176/10/14 vs 164/7/20 on v8); the before/after on v9 is the fair comparison
  and the round's own effect is small. Leadership recall (0.833, 8 misses) is now the weakest figure.
  No rule, threshold or head was changed after this run.
  Decision (pre-registered rule): ngram has fewer tp than the rules (168 < 179) with as many fp (8 = 8),
  and its leadership precision (0.913) is more than 0.03 below the rules' (0.952), so it does not qualify;
  the rules stay the default and nothing changes in Settings. The hybrid (not eligible) finds the most (183
  tp) with the most false positives (14; leadership P 0.846).
  Throughput: the bench's one --quick run measured 11.8k texts/s for the rules (20k texts, loaded machine);
  side by side in one process (see v8 above) round 7 costs ~3-8% against round 6.
  On the sample workspace's own news (seeds 42 and 43 of the 2,000-account lead_scores sample, 1,984 and
  2,034 items, title + text as the scout classifies them, as-of 2026-12-06, from the kept workspaces)
  round 7's rules give exactly round 6's signals on every item (types and confidences): seed 42 funding
  219/40/0, hiring 391/44/0, leadership 147/122/0, launch 191/0/1; seed 43 206/45/0, 430/49/0, 135/128/0,
  181/0/0; downstream scores do not move.
  v9 is now spent as a holdout; a v10 is needed for the next change.

Targets: precision >= 0.9 and recall >= 0.75 per type on the dev set's real subset (rules) and on
v9 for the shipped default (REVOPS_INTENT_METHOD unset); 100k texts in < 10 s (rules); the ngram
cold start < 1 s. The other methods' v9 figures and every CV figure are reported, not gated.
The throughput corpus is 50% dev-set headlines and 50% non-business filler (as a news feed is),
each made distinct with a suffix so the per-text cache cannot help.

    python benchmarks/bench_intent.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revops_assets.scoring import intent_model, intent_ngram  # noqa: E402
from revops_assets.scoring.intent import TYPES, classify_many, devset_split, evaluate  # noqa: E402
from revops_assets.settings import load_settings  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEVSET = DATA / "intent_devset.jsonl"
FRESH = DATA / "intent_holdout_fresh.jsonl"  # first holdout, used for tuning in round 2: see the docstring
V2 = DATA / "intent_holdout_v2.jsonl"  # second holdout, used for tuning in round 3
V3 = DATA / "intent_holdout_v3.jsonl"  # frozen before round 3; a development/training set since the ngram work
V4 = DATA / "intent_holdout_v4.jsonl"  # frozen before the hybrid; a development/training set since the ngram work
V5 = DATA / "intent_holdout_v5.jsonl"  # frozen before the ngram method; a development set since round 4 (rules tuned, ngram trained on it)
V6 = DATA / "intent_holdout_v6.jsonl"  # frozen before round 4; a development set since round 5 (rules tuned on it)
V7 = DATA / "intent_holdout_v7.jsonl"  # frozen before round 5 (another author); a development set since round 6 (rules tuned on it)
V8 = DATA / "intent_holdout_v8.jsonl"  # frozen before round 6 (another author); a development set since round 7 (rules tuned on it)
V9 = DATA / "intent_holdout_v9.jsonl"  # frozen before round 7 (another author): never tune or train on it
METHODS = ("rules", "ngram", "hybrid")
V5_RULES = "024050a476d908d5935d1a3d5121e4a7d77cce09"  # the rules evaluated on v5 (before round 4), also run on v6
V6_RULES = "39d30d97ca2b92eeb050caa4ba627a2b0fa82254"  # the rules evaluated on v6 (round 4, before round 5), also run on v7
V7_RULES = "bd6d5bb9a32f508395cecfd59779d4cd1466e17e"  # the rules evaluated on v7 (round 5, before round 6), also run on v8
V8_RULES = "4cbe175e430692256d7da59468c37040ba777e30"  # the rules evaluated on v8 (round 6, before round 7), also run on v9
FILLER = [
    "Local council approves budget for new park", "Storms expected across the Midwest this weekend",
    "Opinion: why remote work is here to stay", "Stock market closes higher on tech rally",
    "Review: the best noise-cancelling headphones of the year", "City marathon draws record crowd",
]


def _prf_line(name: str, kind: str, m: dict) -> str:
    return f"{name:<14} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}"


def _load_time() -> float:
    """Seconds for a fresh process to import the detector, load the n-gram weights and classify one text."""
    code = ("import time; t = time.perf_counter(); import revops_assets.scoring.intent as i; "
            "i.classify('Acme raises $5 million in seed funding', method='ngram'); print(time.perf_counter() - t)")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k texts for rules throughput, 5k ngram, 500 hybrid; no retrain checks")
    args = parser.parse_args()
    rows, fresh, v2, v3, v4, v5, v6, v7, v8 = (_load(p) for p in (DEVSET, FRESH, V2, V3, V4, V5, V6, V7, V8))
    v9 = _load(V9) if V9.exists() else []  # being written by another author until it is committed
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "devhold": [r for r in rows if devset_split(r["text"]) == "holdout"],  # hash split, seen while tuning
        "real": [r for r in rows if r["source"] == "real"],
        "fresh": fresh,  # first holdout, used for tuning in round 2
        "v2": v2,  # second holdout, used for tuning in round 3
        "v3": v3,  # frozen holdout before round 3; training data of the learned methods since
        "v4": v4,  # frozen holdout before the hybrid; training data of the learned methods since
        "v5": v5,  # frozen holdout before round 4; the rules were tuned and the ngram head trained on it since
        "v6": v6,  # frozen holdout before round 5; the rules were tuned on it since (no head trains on it)
        "v7": v7,  # frozen holdout before round 6; the rules were tuned on it since (no head trains on it)
        "v8": v8,  # frozen holdout before round 7; the rules were tuned on it since (no head trains on it)
        **({"v9": v9} if v9 else {}),  # the frozen holdout
    }
    training = {"all", "fresh", "v2", "v3", "v4"}  # trains both learned methods; v5 trains the ngram head only
    labels = {"fresh": "fresh set, used for tuning", "v2": "v2 set, used for tuning in round 3",
              "v3": "v3 set, development (rules never tuned on it)", "v4": "v4 set, development (rules never tuned on it)",
              "v5": "v5 set, development since round 4 (rules tuned, ngram trained on it)",
              "v6": "v6 set, development since round 5 (rules tuned on it)",
              "v7": "v7 set, development since round 6 (rules tuned on it)",
              "v8": "v8 set, development since round 7 (rules tuned on it)",
              "v9": "v9 holdout, written before round 7"}
    shipped = load_settings({}).intent_method  # what the product runs by default
    results: list[dict] = []
    print("subsets: all/dev/devhold/real = tuned dev set (devhold = its hash holdout split); fresh, v2, v3, v4, v5, v6, v7 = used for "
          "tuning the rules (v3-v5 in round 4, v6 in round 5, v7 in round 6, v8 in round 7); fresh, v2, v3, v4 and the dev set = training data of "
          "the learned methods (v5 of ngram too); v8 = tuned on in round 7; v9 = the frozen holdout (gated for the shipped default)")
    print(f"default method (REVOPS_INTENT_METHOD unset): {shipped}")
    print(f"{'subset':<14} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for method in METHODS:
        for name, subset in subsets.items():
            if method != "rules" and name in ("dev", "devhold", "real", "fresh", "v2"):
                continue  # training data of the learned methods: "all", v3 and v4 stand for it
            if name == "v6" and method == "rules":
                _old_rules_on(v6, "v6", V5_RULES, "rules before round 4", results)  # round 4's before/after (v6 unseen then)
                _old_rules_on(v6, "v6", V6_RULES, "rules of round 4", results)  # round 5's before on v6 (fitted after)
            if name == "v7" and method == "rules":
                _old_rules_on(v7, "v7", V6_RULES, "rules of round 4", results)  # round 5's before/after (v7 unseen then)
                _old_rules_on(v7, "v7", V7_RULES, "rules of round 5", results)  # round 6's before on v7 (fitted after)
            if name == "v8" and method == "rules":
                _old_rules_on(v8, "v8", V7_RULES, "rules of round 5", results)  # round 6's before/after (v8 unseen then)
                _old_rules_on(v8, "v8", V8_RULES, "rules of round 6", results)  # round 7's before on v8 (fitted after)
            if name == "v9" and method == "rules":
                _old_rules_on(v9, "v9", V8_RULES, "rules of round 6", results)  # round 7's before/after on unseen text
            totals = [0, 0, 0]
            for kind, m in evaluate(subset, method=method).items():
                print(_prf_line(f"{name}/{method}", kind, m))
                totals = [a + b for a, b in zip(totals, (m["tp"], m["fp"], m["fn"]))]
                gate = (name == "v9" and method == shipped) or (name == "real" and method == "rules")
                fitted = (method != "rules" and name in training) or (method == "ngram" and name == "v5")
                label = labels.get(name, name) + (f", {method} (fitted: training data)" if fitted else f", {method}")
                for fig, val, target in (("precision", m["precision"], 0.9), ("recall", m["recall"], 0.75)):
                    results.append({"figure": f"{fig} {kind} ({label}, n+={m['support']}, tp/fp/fn={m['tp']}/{m['fp']}/{m['fn']})",
                                    "target": target if gate else None, "measured": round(val, 3), "unit": "",
                                    "ok": val >= target if gate else True})
            if name in ("v3", "v4", "v5", "v6", "v7", "v8", "v9"):
                print(f"{name}/{method:<10} {'all types':<18}      tp/fp/fn {totals[0]}/{totals[1]}/{totals[2]}")
                fitted = (method != "rules" and name in training) or (method == "ngram" and name == "v5")
                results.append({"figure": f"{name} all types tp/fp/fn, {method}" + (" (fitted: training data)" if fitted else ""),
                                "target": None, "measured": "/".join(map(str, totals)), "unit": "", "ok": True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives], method="rules"))
    results.append({"figure": f"dev hard negatives that fired anything, rules (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})
    for method in METHODS:
        for name, subset in (("v8", v8), ("v9", v9)):
            if not subset:
                continue
            neg = [r for r in subset if not r["labels"]]
            fired = sum(bool(s) for s in classify_many([r["text"] for r in neg], [r["published"] for r in neg], method=method))
            what = "v8 (development since round 7)" if name == "v8" else "v9-holdout"
            results.append({"figure": f"{what} negatives that fired anything, {method} (of {len(neg)})", "target": None,
                            "measured": fired, "unit": "texts", "ok": True})
    head, weights = intent_model.load_head(), intent_ngram.load_weights()
    for tag, rec in (("hybrid head", head), ("ngram weights", weights)):
        for name, rep in rec.get("cv", {}).items():
            for kind, m in rep.items():
                results.append({"figure": f"CV {tag}: {name} {kind} P/R (out-of-sample on the training sets, tp/fp/fn={m['tp']}/{m['fp']}/{m['fn']})",
                                "target": None, "measured": f"{m['precision']:.3f}/{m['recall']:.3f}", "unit": "", "ok": True})
    for tag, rec, module in (("hybrid head", head, intent_model), ("ngram weights", weights, intent_ngram)):
        ok = rec["training_sha256"] == module.training_hash()
        results.append({"figure": f"{tag} training data hash matches the current training sets", "target": True,
                        "measured": ok, "unit": "", "ok": ok})
    if not args.quick:
        same = intent_model.same_head(head, intent_model.train(with_cv=False))
        results.append({"figure": "committed hybrid head matches a retrain", "target": True, "measured": same, "unit": "", "ok": same})
        same = intent_ngram.same_weights(json.loads(intent_ngram.WEIGHTS_PATH.read_text(encoding="utf-8")), intent_ngram.train(with_cv=False))
        results.append({"figure": "committed ngram weights match a retrain", "target": True, "measured": same, "unit": "", "ok": same})

    n = 20_000 if args.quick else 100_000
    rng = random.Random(0)
    texts = [(rng.choice(rows)["text"] if i % 2 else rng.choice(FILLER)) + f" ({i})" for i in range(n)]
    best = float("inf")
    for _ in range(1 if args.quick else 3):
        t = time.perf_counter()
        classify_many(texts, method="rules")
        best = min(best, time.perf_counter() - t)
    target = 10.0 * n / 100_000
    results.append({"figure": f"classify_many {n:,} texts, rules", "target": round(target, 1), "measured": round(best, 2), "unit": "s", "ok": best < target})
    results.append({"figure": "  throughput, rules", "target": None, "measured": round(n / best), "unit": "texts/s", "ok": True})
    load = min(_load_time() for _ in range(3))
    results.append({"figure": "fresh process: import + ngram weights load + one text", "target": 1.0, "measured": round(load, 2), "unit": "s", "ok": load < 1.0})
    nn = 5_000 if args.quick else 20_000
    t = time.perf_counter()
    classify_many(texts[:nn], method="ngram")
    dt = time.perf_counter() - t
    results.append({"figure": f"classify_many {nn:,} distinct texts, ngram (weights loaded)", "target": None, "measured": round(dt, 2), "unit": "s", "ok": True})
    results.append({"figure": "  throughput, ngram", "target": None, "measured": round(nn / dt), "unit": "texts/s", "ok": True})
    nh = 500 if args.quick else 3_000
    classify_many(texts[:8], method="hybrid")  # model load is not throughput
    t = time.perf_counter()
    classify_many(texts[:nh], method="hybrid")
    dt = time.perf_counter() - t
    results.append({"figure": f"classify_many {nh:,} distinct texts, hybrid (model loaded)", "target": None, "measured": round(dt, 2), "unit": "s", "ok": True})
    results.append({"figure": "  throughput, hybrid", "target": None, "measured": round(nh / dt), "unit": "texts/s", "ok": True})
    print()
    shown = [r for r in results if "(" not in r["figure"] or not r["ok"] or "negatives" in r["figure"] or r["target"] is not None]
    width = max(len(r["figure"]) for r in shown)
    for r in shown:
        print(f"{r['figure']:<{width}}  target {r['target']!s:>6}  measured {r['measured']!s:>8} {r['unit']}  {'' if r['ok'] else 'MISSED'}")
    out = Path(__file__).resolve().parent / "results" / "intent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    assert set(TYPES) == {"funding", "hiring", "leadership_change", "product_launch"}


def _old_rules_on(rows: list[dict], name: str, commit: str, what: str, results: list[dict]) -> None:
    """An older rules version (``commit``) on a set: a round's before figures (``V5_RULES`` = before round 4,
    ``V6_RULES`` = round 4's rules, before round 5, ``V7_RULES`` = round 5's rules, before round 6,
    ``V8_RULES`` = round 6's rules, before round 7)."""
    old = intent_model._rules_at(commit)
    tag = f"{name}/rules@{commit[:7]}"
    totals = [0, 0, 0]
    for kind, m in old.evaluate(rows, method="rules").items():
        print(_prf_line(tag, kind, m))
        totals = [a + b for a, b in zip(totals, (m["tp"], m["fp"], m["fn"]))]
        for fig, val in (("precision", m["precision"]), ("recall", m["recall"])):
            results.append({"figure": f"{fig} {kind} ({name} set, {what} ({commit[:7]}), n+={m['support']}, "
                                      f"tp/fp/fn={m['tp']}/{m['fp']}/{m['fn']})",
                            "target": None, "measured": round(val, 3), "unit": "", "ok": True})
    print(f"{tag:<14} {'all types':<18}      tp/fp/fn {totals[0]}/{totals[1]}/{totals[2]}")
    results.append({"figure": f"{name} all types tp/fp/fn, {what} ({commit[:7]})", "target": None,
                    "measured": "/".join(map(str, totals)), "unit": "", "ok": True})


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    main()
