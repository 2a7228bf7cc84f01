/*
 * ostpctl sysproxy: the desktop's proxy settings (GNOME's gsettings,
 * KDE's kioslaverc) pointed at a local proxy and put back (sysproxy.c).
 */
#ifndef OSTP_SYSPROXY_H
#define OSTP_SYSPROXY_H

/* argv[0] is "sysproxy"; returns the exit status. */
int	sysproxy_main(int argc, char **argv, int json);

#endif
