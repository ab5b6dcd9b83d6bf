# Fig. 8: accuracy against the latency budget on the NPU alone, by training recipe
#
# Data: fig8.dat, one block per series.
# Made by: h4h reproduce fig8 --out DIR
#
# Written by h4h; restyle freely.  Run it with `gnuplot FILE.gp` (from any
# directory: it reads its data and writes its images next to itself).  Pick
# the formats with: gnuplot -e 'outputs="svg"' FILE.gp

if (!exists("outputs")) outputs = "png svg"

# Work next to this script, so the data paths below are relative to it.
do for [i = strlen(ARG0):1:-1] {
    if (ARG0[i:i] eq "/") { cd ARG0[1:i]; break }
}

do for [ext in outputs] {
    if (ext eq "png") {
        # pngcairo draws smoother lines; libgd's png is the fallback (gnuplot-nox)
        if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
            set terminal pngcairo size 900,520 noenhanced font "sans,10"
        } else {
            set terminal png size 900,520 noenhanced
        }
    } else {
        set terminal svg size 900,520 dynamic noenhanced font "sans,10" background rgb "white"
    }
    set output "fig8".".".ext

    set title "Fig. 8: accuracy against the latency budget on the NPU alone, by training recipe"
    set grid
    set key bottom right
    set logscale x 10
    set xlabel "latency budget (ms, log scale)"
    set ylabel "top-1 test accuracy (%)"
    plot "fig8.dat" index 0 using 1:2 with linespoints lw 2 pt 5 title "CNN-only supernet", \
         "fig8.dat" index 1 using 1:2 with linespoints lw 2 pt 7 title "hybrid, TPI"
    unset multiplot
    set output
}

