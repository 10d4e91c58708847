  ;; ---- Convolution filter gradient as a GEMM ----------------------------------------------------
  ;; dW[i, j, ci, co] = sum over positions p = (n, oh, ow) of x[n, oh sh + i - pt, ow sw + j - pl, ci]
  ;; dy[p, co] (0 outside x): C = A B with A = the patches of x (M = KH KW C rows, one step a
  ;; position), gathered from x while packing (no im2col matrix), and B = dy as [positions, Cout].
  ;; $desc points to 13 i32: N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, Cout (NHWC, HWIO).

  ;; Packs A's rows [0, M) (M = KH KW C) by positions [p0, p0 + kc) into blocks of 4 rows.
  (func $convPack (param $x i32) (param $desc i32) (param $p0 i32) (param $kc i32) (param $dst i32)
    (local $H i32) (local $W i32) (local $C i32) (local $OH i32) (local $OW i32) (local $KH i32) (local $KW i32)
    (local $SH i32) (local $SW i32) (local $PT i32) (local $PL i32) (local $M i32) (local $M4 i32)
    (local $n i32) (local $oh i32) (local $ow i32) (local $k i32) (local $i i32) (local $j i32) (local $ci i32) (local $r i32)
    (local $ih i32) (local $iw i32) (local $inside i32) (local $src i32) (local $blockBytes i32) (local $d i32) (local $t i32)
    (local.set $H (i32.load offset=4 (local.get $desc)))
    (local.set $W (i32.load offset=8 (local.get $desc)))
    (local.set $C (i32.load offset=12 (local.get $desc)))
    (local.set $OH (i32.load offset=16 (local.get $desc)))
    (local.set $OW (i32.load offset=20 (local.get $desc)))
    (local.set $KH (i32.load offset=24 (local.get $desc)))
    (local.set $KW (i32.load offset=28 (local.get $desc)))
    (local.set $SH (i32.load offset=32 (local.get $desc)))
    (local.set $SW (i32.load offset=36 (local.get $desc)))
    (local.set $PT (i32.load offset=40 (local.get $desc)))
    (local.set $PL (i32.load offset=44 (local.get $desc)))
    (local.set $M (i32.mul (i32.mul (local.get $KH) (local.get $KW)) (local.get $C)))
    (local.set $M4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $blockBytes (i32.shl (local.get $kc) (i32.const 4))) ;; 4 floats a step
    (local.set $ow (i32.rem_u (local.get $p0) (local.get $OW)))
    (local.set $t (i32.div_u (local.get $p0) (local.get $OW)))
    (local.set $oh (i32.rem_u (local.get $t) (local.get $OH)))
    (local.set $n (i32.div_u (local.get $t) (local.get $OH)))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $kc)))
      (local.set $r (i32.const 0))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $KH)))
        (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $SH)) (local.get $i)) (local.get $PT)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $KW)))
          (local.set $iw (i32.sub (i32.add (i32.mul (local.get $ow) (local.get $SW)) (local.get $j)) (local.get $PL)))
          ;; unsigned compares: a negative coordinate is a huge one
          (local.set $inside (i32.and (i32.lt_u (local.get $ih) (local.get $H)) (i32.lt_u (local.get $iw) (local.get $W))))
          (local.set $src (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $ih)) (local.get $W)) (local.get $iw)) (local.get $C)) (i32.const 2))))
          (local.set $ci (i32.const 0))
          (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
            (then
              ;; 4 channels of a tap fill one block's step: one vector
              (block $vdone (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $ci) (local.get $C)))
                (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes)) (i32.shl (local.get $k) (i32.const 4)))))
                (v128.store (local.get $d)
                  (if (result v128) (local.get $inside) (then (v128.load (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2)))))
                    (else (v128.const i32x4 0 0 0 0))))
                (local.set $ci (i32.add (local.get $ci) (i32.const 4)))
                (local.set $r (i32.add (local.get $r) (i32.const 4)))
                (br $vloop))))
            (else
              (block $sdone (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ci) (local.get $C)))
                (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes))
                  (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.and (local.get $r) (i32.const 3))) (i32.const 2)))))
                (f32.store (local.get $d)
                  (if (result f32) (local.get $inside) (then (f32.load (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2)))))
                    (else (f32.const 0))))
                (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $sloop)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      ;; rows past M in the last block: zero
      (block $zdone (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $r) (local.get $M4)))
        (f32.store (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes))
          (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.and (local.get $r) (i32.const 3))) (i32.const 2)))) (f32.const 0))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $zloop)))
      ;; next position
      (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
      (if (i32.eq (local.get $ow) (local.get $OW)) (then
        (local.set $ow (i32.const 0))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (if (i32.eq (local.get $oh) (local.get $OH)) (then
          (local.set $oh (i32.const 0))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $kloop))))

  ;; The positions split into $parts near-equal ranges; threads claim parts from the i32 at $counter
  ;; (0 at the start) and write part q's sum, M x Cout, at $partials + q M Cout floats, so the sum of
  ;; the parts (taken in order by the caller) does not depend on which thread took which.
  ;; $work: gemmWorkFloats(M, 384, Cout rounded up to 8) floats (heapGemm.ts): packed A (M rounded
  ;; up to 4, by 384), packed B (384 x Cout rounded up to 8), one 4 x 8 tile.
  (func $convFilterGrad (export "convFilterGrad") (param $x i32) (param $dy i32) (param $partials i32) (param $desc i32)
      (param $parts i32) (param $counter i32) (param $work i32)
    (local $P i32) (local $M i32) (local $M4 i32) (local $cout i32) (local $packA i32) (local $packB i32) (local $tile i32)
    (local $q i32) (local $p0 i32) (local $p1 i32) (local $pc i32) (local $kc i32) (local $out i32) (local $ldcb i32)
    (local $ir i32) (local $jr i32)
    (local.set $P (i32.mul (i32.mul (i32.load (local.get $desc)) (i32.load offset=16 (local.get $desc))) (i32.load offset=20 (local.get $desc))))
    (local.set $M (i32.mul (i32.mul (i32.load offset=24 (local.get $desc)) (i32.load offset=28 (local.get $desc))) (i32.load offset=12 (local.get $desc))))
    (local.set $M4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $cout (i32.load offset=48 (local.get $desc)))
    (local.set $ldcb (i32.shl (local.get $cout) (i32.const 2)))
    (local.set $packA (local.get $work))
    (local.set $packB (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $M4) (i32.const 384)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packB)
      (i32.shl (i32.mul (i32.const 384) (i32.and (i32.add (local.get $cout) (i32.const 7)) (i32.const -8))) (i32.const 2))))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $p0 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $P))) (i64.extend_i32_u (local.get $parts)))))
      (local.set $p1 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (i32.add (local.get $q) (i32.const 1))) (i64.extend_i32_u (local.get $P))) (i64.extend_i32_u (local.get $parts)))))
      (local.set $out (i32.add (local.get $partials) (i32.shl (i32.mul (local.get $q) (i32.mul (local.get $M) (local.get $cout))) (i32.const 2))))
      (local.set $pc (local.get $p0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pc) (local.get $p1)))
        (local.set $kc (select (i32.const 384) (i32.sub (local.get $p1) (local.get $pc))
          (i32.le_u (i32.add (local.get $pc) (i32.const 384)) (local.get $p1))))
        (call $convPack (local.get $x) (local.get $desc) (local.get $pc) (local.get $kc) (local.get $packA))
        ;; dy's columns are the rows packed: panels of 8
        (call $gemmPack (local.get $dy) (i32.const 1) (local.get $cout) (i32.const 0) (local.get $cout)
          (local.get $pc) (local.get $kc) (i32.const 8) (local.get $packB))
        (local.set $jr (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $jr) (local.get $cout)))
          (local.set $ir (i32.const 0))
          (block $rdone (loop $rloop
            (br_if $rdone (i32.ge_u (local.get $ir) (local.get $M)))
            (call $gemmTile (local.get $kc)
              (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
              (i32.add (local.get $packB) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
              (i32.add (local.get $out) (i32.add (i32.mul (local.get $ir) (local.get $ldcb)) (i32.shl (local.get $jr) (i32.const 2))))
              (local.get $ldcb)
              (select (i32.const 4) (i32.sub (local.get $M) (local.get $ir)) (i32.le_u (i32.add (local.get $ir) (i32.const 4)) (local.get $M)))
              (select (i32.const 8) (i32.sub (local.get $cout) (local.get $jr)) (i32.le_u (i32.add (local.get $jr) (i32.const 8)) (local.get $cout)))
              (i32.ne (local.get $pc) (local.get $p0)) (local.get $tile))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (br $rloop)))
          (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
          (br $jloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop)))
      (br $claim))))
