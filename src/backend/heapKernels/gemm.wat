  ;; ---- Matrix product (GEMM) --------------------------------------------------------------------
  ;; C = A B in float32, as BLIS-style loops: K in blocks of at most 384, A packed in blocks of 4 rows
  ;; and B in panels of 8 columns (zero past the edges) so that the 4x8 register kernel reads both
  ;; contiguously; transposed operands cost nothing extra, being only other strides while packing.

  ;; C tile (rows x cols, at most 4 x 8; row stride ldc bytes) = (or += when $acc) packed A (kc
  ;; steps of 4 floats) times packed B (kc steps of 8 floats). Partial tiles go through $tile.
  ;; relaxed_madd is a fused multiply-add where the engine has relaxed SIMD; the assembler's variant
  ;; for engines without it spells each one as a multiply and an add.
  (func $gemmTile (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32)
      (param $rows i32) (param $cols i32) (param $acc i32) (param $tile i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $p i32) (local $i i32) (local $j i32)
    (block $done (loop $k
      (br_if $done (i32.eqz (local.get $kc)))
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
      (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br $k)))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        (if (local.get $acc) (then
          (local.set $p (local.get $c))
          (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $p))))
          (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $p))))
          (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $p))))
          (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $p))))
          (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $p))))))
        (local.set $p (local.get $c))
        (v128.store (local.get $p) (local.get $c00))
        (v128.store offset=16 (local.get $p) (local.get $c01))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c10))
        (v128.store offset=16 (local.get $p) (local.get $c11))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c20))
        (v128.store offset=16 (local.get $p) (local.get $c21))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c30))
        (v128.store offset=16 (local.get $p) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (v128.store offset=32 (local.get $tile) (local.get $c10))
        (v128.store offset=48 (local.get $tile) (local.get $c11))
        (v128.store offset=64 (local.get $tile) (local.get $c20))
        (v128.store offset=80 (local.get $tile) (local.get $c21))
        (v128.store offset=96 (local.get $tile) (local.get $c30))
        (v128.store offset=112 (local.get $tile) (local.get $c31))
        (local.set $i (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
          (local.set $j (i32.const 0))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $p (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2))))
            (f32.store (local.get $p)
              (f32.add
                (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2))))
                (select (f32.load (local.get $p)) (f32.const 0) (local.get $acc))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iloop))))))

  ;; Packs rows [i0, i1) by steps [k0, k0 + kc) of a matrix whose (row, step) element is at
  ;; src + 4 (row rs + step cs) into blocks of $width rows: dst[block][step][r], zero past i1.
  (func $gemmPack (param $src i32) (param $rs i32) (param $cs i32) (param $i0 i32) (param $i1 i32)
      (param $k0 i32) (param $kc i32) (param $width i32) (param $dst i32)
    (local $row i32) (local $live i32) (local $r i32) (local $k i32) (local $s i32) (local $d i32)
    (local $step i32) (local $dstep i32)
    (local.set $dstep (i32.shl (local.get $width) (i32.const 2)))
    (local.set $row (local.get $i0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_s (local.get $row) (local.get $i1)))
      (local.set $live (select (local.get $width) (i32.sub (local.get $i1) (local.get $row))
        (i32.le_s (i32.add (local.get $row) (local.get $width)) (local.get $i1))))
      (if (i32.eq (local.get $rs) (i32.const 1))
        (then
          ;; the block's rows are adjacent in memory: step by step, copy $live adjacent floats
          (local.set $s (i32.shl (i32.add (local.get $row) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2)))
          (local.set $s (i32.add (local.get $src) (local.get $s)))
          (local.set $step (i32.shl (local.get $cs) (i32.const 2)))
          (local.set $d (local.get $dst))
          (local.set $k (local.get $kc))
          (block $kdone (loop $kloop
            (br_if $kdone (i32.eqz (local.get $k)))
            (if (i32.eq (local.get $live) (i32.const 8))
              (then
                (v128.store (local.get $d) (v128.load (local.get $s)))
                (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s))))
              (else (if (i32.eq (local.get $live) (i32.const 4))
                (then (v128.store (local.get $d) (v128.load (local.get $s))))
                (else
                  (local.set $r (i32.const 0))
                  (block $rdone (loop $rloop
                    (br_if $rdone (i32.ge_u (local.get $r) (local.get $width)))
                    (f32.store (i32.add (local.get $d) (i32.shl (local.get $r) (i32.const 2)))
                      (if (result f32) (i32.lt_u (local.get $r) (local.get $live))
                        (then (f32.load (i32.add (local.get $s) (i32.shl (local.get $r) (i32.const 2)))))
                        (else (f32.const 0))))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $rloop)))))))
            (local.set $s (i32.add (local.get $s) (local.get $step)))
            (local.set $d (i32.add (local.get $d) (local.get $dstep)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $kloop))))
        (else
          ;; otherwise row by row, each read along its steps
          (local.set $step (i32.shl (local.get $cs) (i32.const 2)))
          (local.set $r (i32.const 0))
          (block $rdone2 (loop $rloop2
            (br_if $rdone2 (i32.ge_u (local.get $r) (local.get $width)))
            (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
            (local.set $k (local.get $kc))
            (if (i32.lt_u (local.get $r) (local.get $live))
              (then
                (local.set $s (i32.add (local.get $src)
                  (i32.shl (i32.add (i32.mul (i32.add (local.get $row) (local.get $r)) (local.get $rs)) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2))))
                (block $cdone (loop $cloop
                  (br_if $cdone (i32.eqz (local.get $k)))
                  (f32.store (local.get $d) (f32.load (local.get $s)))
                  (local.set $s (i32.add (local.get $s) (local.get $step)))
                  (local.set $d (i32.add (local.get $d) (local.get $dstep)))
                  (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                  (br $cloop))))
              (else
                (block $zdone (loop $zloop
                  (br_if $zdone (i32.eqz (local.get $k)))
                  (f32.store (local.get $d) (f32.const 0))
                  (local.set $d (i32.add (local.get $d) (local.get $dstep)))
                  (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                  (br $zloop)))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop2)))))
      (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $kc) (local.get $dstep))))
      (local.set $row (i32.add (local.get $row) (local.get $width)))
      (br $bloop))))

  ;; C = A B (+ bias, then ReLU when $relu): C row-major M x N with row stride ldc floats; A's (i, k)
  ;; element at a + 4 (i rsA + k csA), B's (k, j) at b + 4 (k rsB + j csB); bias (N floats) 0 for
  ;; none. Threads share the work by columns: each packs all of A once, then claims $chunk columns
  ;; at a time (a multiple of 8) from the i32 at $counter (the next free column; 0 at the start)
  ;; until none are left, and computes them over all of K, so each output is summed in the same
  ;; order whichever thread takes it. $work: scratch of gemmWorkFloats(M, K, chunk) floats (see
  ;; heapGemm.ts): packed A (M rounded up to 4, by K), packed B (384 x chunk), one 4 x 8 tile.
  (func $gemm (export "gemm") (param $a i32) (param $rsA i32) (param $csA i32) (param $b i32) (param $rsB i32) (param $csB i32)
      (param $c i32) (param $ldc i32) (param $M i32) (param $K i32) (param $N i32) (param $chunk i32) (param $counter i32)
      (param $bias i32) (param $relu i32) (param $work i32)
    (local $packA i32) (local $packB i32) (local $tile i32) (local $rows4 i32) (local $blocks i32) (local $kcMax i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32) (local $jr i32) (local $ir i32)
    (local $j0 i32) (local $j1 i32) (local $width i32) (local $ldcb i32) (local $p i32) (local $bv v128) (local $zero v128)
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $rows4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $packA (local.get $work))
    (local.set $packB (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $rows4) (local.get $K)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packB) (i32.shl (i32.mul (i32.const 384) (local.get $chunk)) (i32.const 2))))
    ;; K in equal blocks of at most 384 steps (a block of B's panel, 12 KiB, stays in L1)
    (local.set $blocks (i32.div_u (i32.add (local.get $K) (i32.const 383)) (i32.const 384)))
    (local.set $kcMax (i32.div_u (i32.add (local.get $K) (i32.sub (local.get $blocks) (i32.const 1))) (local.get $blocks)))
    ;; all of A, K block by K block (block pc at rows4 x pc floats), in blocks of 4 rows
    (local.set $pc (i32.const 0))
    (block $adone (loop $aloop
      (br_if $adone (i32.ge_s (local.get $pc) (local.get $K)))
      (local.set $kc (select (local.get $kcMax) (i32.sub (local.get $K) (local.get $pc))
        (i32.le_s (i32.add (local.get $pc) (local.get $kcMax)) (local.get $K))))
      (call $gemmPack (local.get $a) (local.get $rsA) (local.get $csA) (i32.const 0) (local.get $M)
        (local.get $pc) (local.get $kc) (i32.const 4)
        (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $rows4) (local.get $pc)) (i32.const 2))))
      (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
      (br $aloop)))
    (block $claimed (loop $claim
      (local.set $j0 (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_s (local.get $j0) (local.get $N)))
      (local.set $j1 (select (i32.add (local.get $j0) (local.get $chunk)) (local.get $N)
        (i32.le_s (i32.add (local.get $j0) (local.get $chunk)) (local.get $N))))
      (local.set $width (i32.sub (local.get $j1) (local.get $j0)))
      (local.set $pc (i32.const 0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_s (local.get $pc) (local.get $K)))
        (local.set $kc (select (local.get $kcMax) (i32.sub (local.get $K) (local.get $pc))
          (i32.le_s (i32.add (local.get $pc) (local.get $kcMax)) (local.get $K))))
        ;; B's columns are the rows packed: panels of 8
        (call $gemmPack (local.get $b) (local.get $csB) (local.get $rsB) (local.get $j0) (local.get $j1)
          (local.get $pc) (local.get $kc) (i32.const 8) (local.get $packB))
        ;; rows in blocks of 128 (their packed A, 4 x kc floats a row block, stays in L2), each across the chunk's panels
        (local.set $ic (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_s (local.get $ic) (local.get $M)))
          (local.set $mc (select (i32.const 128) (i32.sub (local.get $M) (local.get $ic))
            (i32.le_s (i32.add (local.get $ic) (i32.const 128)) (local.get $M))))
          (local.set $jr (i32.const 0))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $jr) (local.get $width)))
            (local.set $ir (local.get $ic))
            (block $rdone (loop $rloop
              (br_if $rdone (i32.ge_s (local.get $ir) (i32.add (local.get $ic) (local.get $mc))))
              (call $gemmTile (local.get $kc)
                (i32.add (local.get $packA) (i32.shl (i32.add (i32.mul (local.get $rows4) (local.get $pc)) (i32.mul (local.get $ir) (local.get $kc))) (i32.const 2)))
                (i32.add (local.get $packB) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                (i32.add (local.get $c) (i32.add (i32.mul (local.get $ir) (local.get $ldcb))
                  (i32.shl (i32.add (local.get $j0) (local.get $jr)) (i32.const 2))))
                (local.get $ldcb)
                (select (i32.const 4) (i32.sub (local.get $M) (local.get $ir)) (i32.le_s (i32.add (local.get $ir) (i32.const 4)) (local.get $M)))
                (select (i32.const 8) (i32.sub (local.get $width) (local.get $jr)) (i32.le_s (i32.add (local.get $jr) (i32.const 8)) (local.get $width)))
                (local.get $pc) (local.get $tile))
              (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
              (br $rloop)))
            (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
            (br $jloop)))
          (local.set $ic (i32.add (local.get $ic) (local.get $mc)))
          (br $iloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop)))
      ;; the chunk's epilogue: bias, then ReLU
      (if (i32.or (local.get $bias) (local.get $relu)) (then
        (local.set $ic (i32.const 0))
        (block $edone (loop $eloop
          (br_if $edone (i32.ge_s (local.get $ic) (local.get $M)))
          (local.set $jr (local.get $j0))
          (block $fdone (loop $floop
            (br_if $fdone (i32.ge_s (local.get $jr) (local.get $j1)))
            (local.set $p (i32.add (local.get $c) (i32.add (i32.mul (local.get $ic) (local.get $ldcb)) (i32.shl (local.get $jr) (i32.const 2)))))
            (if (i32.le_s (i32.add (local.get $jr) (i32.const 4)) (local.get $j1))
              (then
                (local.set $bv (v128.load (local.get $p)))
                (if (local.get $bias) (then
                  (local.set $bv (f32x4.add (local.get $bv) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $jr) (i32.const 2))))))))
                (if (local.get $relu) (then (local.set $bv (f32x4.max (local.get $bv) (local.get $zero)))))
                (v128.store (local.get $p) (local.get $bv))
                (local.set $jr (i32.add (local.get $jr) (i32.const 4))))
              (else
                (if (local.get $bias) (then
                  (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $jr) (i32.const 2))))))))
                (if (local.get $relu) (then (f32.store (local.get $p) (f32.max (f32.load (local.get $p)) (f32.const 0)))))
                (local.set $jr (i32.add (local.get $jr) (i32.const 1)))))
            (br $floop)))
          (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
          (br $eloop)))))
      (br $claim))))

