  ;; ---- Phases of a strided convolution's input gradient, written into place ---------------------
  ;; For stride s, dx's rows and columns fall into s x s phases (wasmConv2DBackpropInput.ts): phase
  ;; (r, c) is an [N, Q, Q', C] tensor whose element [n, k, k', ch] belongs at dx[n, k sh + r - cropH,
  ;; k' sw + c - cropW, ch] (positions outside dx are dropped). $desc points to i32s: phases (sh sw),
  ;; N, Q, Q', C, dstH, dstW, sh, sw, cropH, cropW, chunk, then each phase's heap offset in the order
  ;; p = r sw + c (0: the phase is all zeros).

  ;; Units are the phases' rows u = (p N + n) Q + k, claimed `chunk` at a time from the i32 at
  ;; $counter (0 at the start); every dx position is written by exactly one phase's row.
  (func $interleavePhases (export "interleavePhases") (param $dst i32) (param $desc i32) (param $counter i32)
    (local $N i32) (local $Q i32) (local $Q2 i32) (local $C i32) (local $H i32) (local $W i32) (local $SH i32) (local $SW i32)
    (local $cropH i32) (local $cropW i32) (local $chunk i32) (local $units i32) (local $u i32) (local $end i32)
    (local $p i32) (local $rest i32) (local $n i32) (local $k i32) (local $h i32) (local $w i32) (local $k2 i32)
    (local $src i32) (local $pixel i32) (local $pixel4 i32) (local $dstRow i32) (local $srcAt i32) (local $colPhase i32)
    (local $to i32) (local $from i32) (local $j i32)
    (local.set $N (i32.load offset=4 (local.get $desc)))
    (local.set $Q (i32.load offset=8 (local.get $desc)))
    (local.set $Q2 (i32.load offset=12 (local.get $desc)))
    (local.set $C (i32.load offset=16 (local.get $desc)))
    (local.set $H (i32.load offset=20 (local.get $desc)))
    (local.set $W (i32.load offset=24 (local.get $desc)))
    (local.set $SH (i32.load offset=28 (local.get $desc)))
    (local.set $SW (i32.load offset=32 (local.get $desc)))
    (local.set $cropH (i32.load offset=36 (local.get $desc)))
    (local.set $cropW (i32.load offset=40 (local.get $desc)))
    (local.set $chunk (i32.load offset=44 (local.get $desc)))
    (local.set $units (i32.mul (i32.mul (i32.load (local.get $desc)) (local.get $N)) (local.get $Q)))
    (local.set $pixel (i32.shl (local.get $C) (i32.const 2)))
    (local.set $pixel4 (i32.and (local.get $pixel) (i32.const -16)))
    (block $claimed (loop $claim
      (local.set $u (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_u (local.get $u) (local.get $units)))
      (local.set $end (select (i32.add (local.get $u) (local.get $chunk)) (local.get $units)
        (i32.lt_u (i32.add (local.get $u) (local.get $chunk)) (local.get $units))))
      (block $udone (loop $uloop
        (br_if $udone (i32.ge_u (local.get $u) (local.get $end)))
        (local.set $p (i32.div_u (local.get $u) (i32.mul (local.get $N) (local.get $Q))))
        (local.set $rest (i32.rem_u (local.get $u) (i32.mul (local.get $N) (local.get $Q))))
        (local.set $n (i32.div_u (local.get $rest) (local.get $Q)))
        (local.set $k (i32.rem_u (local.get $rest) (local.get $Q)))
        (local.set $colPhase (i32.rem_u (local.get $p) (local.get $SW)))
        ;; signed: a phase's first row may fall above dx
        (local.set $h (i32.sub (i32.add (i32.mul (local.get $k) (local.get $SH)) (i32.div_u (local.get $p) (local.get $SW))) (local.get $cropH)))
        (if (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $H))) (then
          (local.set $src (i32.load offset=48 (i32.add (local.get $desc) (i32.shl (local.get $p) (i32.const 2)))))
          (local.set $dstRow (i32.add (local.get $dst) (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $h)) (local.get $W)) (local.get $pixel))))
          (local.set $srcAt (select (i32.add (local.get $src) (i32.mul (i32.mul (local.get $rest) (local.get $Q2)) (local.get $pixel))) (i32.const 0) (local.get $src)))
          (local.set $k2 (i32.const 0))
          (block $wdone (loop $wloop
            (br_if $wdone (i32.ge_u (local.get $k2) (local.get $Q2)))
            (local.set $w (i32.sub (i32.add (i32.mul (local.get $k2) (local.get $SW)) (local.get $colPhase)) (local.get $cropW)))
            (if (i32.and (i32.ge_s (local.get $w) (i32.const 0)) (i32.lt_s (local.get $w) (local.get $W))) (then
              ;; one pixel's C floats: vectors while 4 or more are left, then one at a time
              (local.set $to (i32.add (local.get $dstRow) (i32.mul (local.get $w) (local.get $pixel))))
              (local.set $from (i32.add (local.get $srcAt) (i32.mul (local.get $k2) (local.get $pixel))))
              (local.set $j (i32.const 0))
              (if (local.get $src)
                (then
                  (block $vdone (loop $vloop
                    (br_if $vdone (i32.ge_u (local.get $j) (local.get $pixel4)))
                    (v128.store (i32.add (local.get $to) (local.get $j)) (v128.load (i32.add (local.get $from) (local.get $j))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $vloop)))
                  (block $sdone (loop $sloop
                    (br_if $sdone (i32.ge_u (local.get $j) (local.get $pixel)))
                    (f32.store (i32.add (local.get $to) (local.get $j)) (f32.load (i32.add (local.get $from) (local.get $j))))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $sloop))))
                (else
                  (block $zdone (loop $zloop
                    (br_if $zdone (i32.ge_u (local.get $j) (local.get $pixel4)))
                    (v128.store (i32.add (local.get $to) (local.get $j)) (v128.const i32x4 0 0 0 0))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $zloop)))
                  (block $tdone (loop $tloop
                    (br_if $tdone (i32.ge_u (local.get $j) (local.get $pixel)))
                    (f32.store (i32.add (local.get $to) (local.get $j)) (f32.const 0))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $tloop)))))))
            (local.set $k2 (i32.add (local.get $k2) (i32.const 1)))
            (br $wloop)))))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $uloop)))
      (br $claim))))
