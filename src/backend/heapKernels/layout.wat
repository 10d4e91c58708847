  ;; dst = src^T for a row-major rows x cols matrix (4-byte elements): 4x4 tiles transposed in
  ;; registers, walked in 32x32 blocks so that reads and writes both stay in cache. Edges scalar.
  (func $transpose (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i0 i32) (local $j0 i32) (local $i1 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $rows4 i32) (local $cols4 i32) (local $sstride i32) (local $dstride i32) (local $p i32) (local $q i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $sstride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstride (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    ;; the 4-aligned part, block by block
    (local.set $i0 (i32.const 0))
    (block $idone (loop $iloop
      (br_if $idone (i32.ge_u (local.get $i0) (local.get $rows4)))
      (local.set $i1 (select (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4)
        (i32.lt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4))))
      (local.set $j0 (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j0) (local.get $cols4)))
        (local.set $j1 (select (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4)
          (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4))))
        (local.set $i (local.get $i0))
        (block $tidone (loop $tiloop
          (br_if $tidone (i32.ge_u (local.get $i) (local.get $i1)))
          (local.set $j (local.get $j0))
          (block $tjdone (loop $tjloop
            (br_if $tjdone (i32.ge_u (local.get $j) (local.get $j1)))
            ;; p = &src[i][j], q = &dst[j][i]
            (local.set $p (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $q (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
            (local.set $r0 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r1 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r2 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r3 (v128.load (local.get $p)))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tjloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $tiloop)))
        (local.set $j0 (local.get $j1))
        (br $jloop)))
      (local.set $i0 (local.get $i1))
      (br $iloop)))
    ;; the edges: rows past rows4 (all columns), then columns past cols4 (rows up to rows4)
    (local.set $i (local.get $rows4))
    (block $edone (loop $eloop
      (br_if $edone (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $ejdone (loop $ejloop
        (br_if $ejdone (i32.ge_u (local.get $j) (local.get $cols)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $ejloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $eloop)))
    (local.set $i (i32.const 0))
    (block $fdone (loop $floop
      (br_if $fdone (i32.ge_u (local.get $i) (local.get $rows4)))
      (local.set $j (local.get $cols4))
      (block $fjdone (loop $fjloop
        (br_if $fjdone (i32.ge_u (local.get $j) (local.get $cols)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $fjloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $floop))))

  ;; dst[j] = (sum_i src[i][j]) / divisor over a row-major rows x cols float32 matrix (divisor 1 for a
  ;; sum; the row count for a mean): columns in blocks of 16, 8 and 4 summed in registers (each pass
  ;; reads the block's bytes of every row), even and odd rows apart; columns past the last 4 one by one.
  ;; The order of the additions depends only on rows and cols.
  (func $sumColumns (export "sumColumns") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $divisor f32)
    (local $j i32) (local $i i32) (local $p i32) (local $q i32) (local $stride i32) (local $cols4 i32) (local $s f32) (local $d v128)
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $cols4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    ;; $j: byte offset of the block in a row
    (block $d16 (loop $l16
      (br_if $d16 (i32.gt_u (i32.add (local.get $j) (i32.const 64)) (local.get $stride)))
      (call $sumColumnBlock16 (i32.add (local.get $src) (local.get $j)) (i32.add (local.get $dst) (local.get $j)) (local.get $rows) (local.get $stride))
      (local.set $j (i32.add (local.get $j) (i32.const 64)))
      (br $l16)))
    (if (i32.le_u (i32.add (local.get $j) (i32.const 32)) (local.get $stride)) (then
      (call $sumColumnBlock8 (i32.add (local.get $src) (local.get $j)) (i32.add (local.get $dst) (local.get $j)) (local.get $rows) (local.get $stride))
      (local.set $j (i32.add (local.get $j) (i32.const 32)))))
    (if (i32.le_u (i32.add (local.get $j) (i32.const 16)) (local.get $stride)) (then
      (call $sumColumnBlock4 (i32.add (local.get $src) (local.get $j)) (i32.add (local.get $dst) (local.get $j)) (local.get $rows) (local.get $stride))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))))
    (block $sdone (loop $sloop
      (br_if $sdone (i32.ge_u (local.get $j) (local.get $stride)))
      (local.set $s (f32.const 0))
      (local.set $p (i32.add (local.get $src) (local.get $j)))
      (local.set $i (local.get $rows))
      (block $idone (loop $iloop
        (br_if $idone (i32.eqz (local.get $i)))
        (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (local.get $stride)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $iloop)))
      (f32.store (i32.add (local.get $dst) (local.get $j)) (local.get $s))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $sloop)))
    ;; a sum stays as it is
    (if (f32.ne (local.get $divisor) (f32.const 1)) (then
      (local.set $d (f32x4.splat (local.get $divisor)))
      (local.set $j (i32.const 0))
      (block $ddone (loop $dloop
        (br_if $ddone (i32.ge_u (local.get $j) (local.get $cols4)))
        (local.set $q (i32.add (local.get $dst) (local.get $j)))
        (v128.store (local.get $q) (f32x4.div (v128.load (local.get $q)) (local.get $d)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $dloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $stride)))
        (local.set $q (i32.add (local.get $dst) (local.get $j)))
        (f32.store (local.get $q) (f32.div (f32.load (local.get $q)) (local.get $divisor)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop))))))

  ;; Sums of 16 adjacent columns over all rows (stride: bytes a row) into dst: even and odd rows
  ;; in separate accumulators (twice the additions in flight), added at the end.
  (func $sumColumnBlock16 (param $p i32) (param $dst i32) (param $rows i32) (param $stride i32)
    (local $i i32) (local $next i32) (local $e0 v128) (local $o0 v128) (local $e1 v128) (local $o1 v128) (local $e2 v128) (local $o2 v128) (local $e3 v128) (local $o3 v128)
    (local.set $next (i32.add (local.get $p) (local.get $stride)))
    (local.set $i (i32.shr_u (local.get $rows) (i32.const 1)))
    (block $done (loop $pairs
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
      (local.set $o0 (f32x4.add (local.get $o0) (v128.load offset=0 (local.get $next))))
      (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (local.get $p))))
      (local.set $o1 (f32x4.add (local.get $o1) (v128.load offset=16 (local.get $next))))
      (local.set $e2 (f32x4.add (local.get $e2) (v128.load offset=32 (local.get $p))))
      (local.set $o2 (f32x4.add (local.get $o2) (v128.load offset=32 (local.get $next))))
      (local.set $e3 (f32x4.add (local.get $e3) (v128.load offset=48 (local.get $p))))
      (local.set $o3 (f32x4.add (local.get $o3) (v128.load offset=48 (local.get $next))))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $next (i32.add (local.get $next) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $pairs)))
    ;; an odd last row joins the even ones
    (if (i32.and (local.get $rows) (i32.const 1)) (then
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
      (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (local.get $p))))
      (local.set $e2 (f32x4.add (local.get $e2) (v128.load offset=32 (local.get $p))))
      (local.set $e3 (f32x4.add (local.get $e3) (v128.load offset=48 (local.get $p))))
    ))
    (v128.store offset=0 (local.get $dst) (f32x4.add (local.get $e0) (local.get $o0)))
    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $e1) (local.get $o1)))
    (v128.store offset=32 (local.get $dst) (f32x4.add (local.get $e2) (local.get $o2)))
    (v128.store offset=48 (local.get $dst) (f32x4.add (local.get $e3) (local.get $o3))))

  ;; Sums of 8 adjacent columns over all rows (stride: bytes a row) into dst: even and odd rows
  ;; in separate accumulators (twice the additions in flight), added at the end.
  (func $sumColumnBlock8 (param $p i32) (param $dst i32) (param $rows i32) (param $stride i32)
    (local $i i32) (local $next i32) (local $e0 v128) (local $o0 v128) (local $e1 v128) (local $o1 v128)
    (local.set $next (i32.add (local.get $p) (local.get $stride)))
    (local.set $i (i32.shr_u (local.get $rows) (i32.const 1)))
    (block $done (loop $pairs
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
      (local.set $o0 (f32x4.add (local.get $o0) (v128.load offset=0 (local.get $next))))
      (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (local.get $p))))
      (local.set $o1 (f32x4.add (local.get $o1) (v128.load offset=16 (local.get $next))))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $next (i32.add (local.get $next) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $pairs)))
    ;; an odd last row joins the even ones
    (if (i32.and (local.get $rows) (i32.const 1)) (then
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
      (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (local.get $p))))
    ))
    (v128.store offset=0 (local.get $dst) (f32x4.add (local.get $e0) (local.get $o0)))
    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $e1) (local.get $o1))))

  ;; Sums of 4 adjacent columns over all rows (stride: bytes a row) into dst: even and odd rows
  ;; in separate accumulators (twice the additions in flight), added at the end.
  (func $sumColumnBlock4 (param $p i32) (param $dst i32) (param $rows i32) (param $stride i32)
    (local $i i32) (local $next i32) (local $e0 v128) (local $o0 v128)
    (local.set $next (i32.add (local.get $p) (local.get $stride)))
    (local.set $i (i32.shr_u (local.get $rows) (i32.const 1)))
    (block $done (loop $pairs
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
      (local.set $o0 (f32x4.add (local.get $o0) (v128.load offset=0 (local.get $next))))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $next (i32.add (local.get $next) (i32.shl (local.get $stride) (i32.const 1))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $pairs)))
    ;; an odd last row joins the even ones
    (if (i32.and (local.get $rows) (i32.const 1)) (then
      (local.set $e0 (f32x4.add (local.get $e0) (v128.load offset=0 (local.get $p))))
    ))
    (v128.store offset=0 (local.get $dst) (f32x4.add (local.get $e0) (local.get $o0))))

  ;; Column sums of a row-major rows x cols float32 matrix in $parts near-equal ranges of rows: part
  ;; q's sums go to $partials + q cols floats. Threads claim parts from the i32 at $counter (0 at the
  ;; start); the caller adds the parts in order (sumColumns over the partials), so the result does
  ;; not depend on which thread summed which part.
  (func $sumColumnParts (export "sumColumnParts") (param $src i32) (param $partials i32) (param $rows i32) (param $cols i32)
      (param $parts i32) (param $counter i32)
    (local $q i32) (local $r0 i32) (local $r1 i32)
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $r0 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $rows))) (i64.extend_i32_u (local.get $parts)))))
      (local.set $r1 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (i32.add (local.get $q) (i32.const 1))) (i64.extend_i32_u (local.get $rows))) (i64.extend_i32_u (local.get $parts)))))
      (call $sumColumns (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r0) (local.get $cols)) (i32.const 2)))
        (i32.add (local.get $partials) (i32.shl (i32.mul (local.get $q) (local.get $cols)) (i32.const 2)))
        (i32.sub (local.get $r1) (local.get $r0)) (local.get $cols) (f32.const 1))
      (br $claim))))
