/*
 * reproduce_figs.h - `h4h reproduce fig7|energy|fig8|fig9|fig11`
 * (reproduce_figs.c); cmd_reproduce.c dispatches here.
 */
#ifndef H4H_CLI_REPRODUCE_FIGS_H
#define H4H_CLI_REPRODUCE_FIGS_H

/* argv[0] is the study's name; returns the exit status. */
int reproduce_fig_exec(const char *name, int argc, char **argv);

#endif
