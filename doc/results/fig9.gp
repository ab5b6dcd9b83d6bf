# Fig. 9: ViT blocks per 10 MBConv blocks of the searched subnets
#
# Data: fig9.dat, one block per series.
# Made by: h4h reproduce fig9 --out DIR
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
    set output "fig9".".".ext

    set title "Fig. 9: ViT blocks per 10 MBConv blocks of the searched subnets"
    set grid
    set key bottom right
    set logscale x 10
    set xlabel "latency budget (ms, log scale)"
    set ylabel "ViT blocks per 10 MBConv blocks"
    set yrange [0:*]
    # the paper's band: 2 to 5 ViT per 10 IRB
    set object 1 rect from graph 0, first 2 to graph 1, first 5 fc rgb "#dddddd" fs solid 0.5 behind
    plot "fig9.dat" index 0 using 1:8 with linespoints lw 2 pt 5 title "NPU only", \
         "fig9.dat" index 1 using 1:8 with linespoints lw 2 pt 7 title "NPU + 1 macro", \
         "fig9.dat" index 2 using 1:8 with linespoints lw 2 pt 9 title "NPU + 4 macros", \
         "fig9.dat" index 3 using 1:8 with linespoints lw 2 pt 11 title "NPU + 8 macros"
    unset multiplot
    set output
}

