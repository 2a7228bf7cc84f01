# ostp: one GNU make build.  configure writes config.mk; the first 'make'
# on a fresh clone installs the dependencies and runs configure itself.

ifeq ($(filter deps clean distclean deb check-fresh check-container,$(MAKECMDGOALS)),)
-include config.mk
endif

BUILD		?= build
SAN		?=

WARN		= -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith \
		  -Wmissing-prototypes -Wstrict-prototypes -Wformat=2
CPPFLAGS_ALL	= -D_GNU_SOURCE -I. -Icommon -Imonitor -Idaemon \
		  $(CRYPTO_CFLAGS) $(EVENT_CFLAGS) $(MNL_CFLAGS) $(CAP_CFLAGS) \
		  $(SECCOMP_CFLAGS) $(YAJL_CFLAGS) $(NGHTTP2_CFLAGS) \
		  $(SODIUM_CFLAGS)
# The OSTP codec's X25519 is libsodium's when configure found it: it is
# linked wherever libcrypto is.
CRYPTO_LIBS	+= $(SODIUM_LIBS)
ifeq ($(SAN),1)
OPT		= -O1 -g -fno-omit-frame-pointer \
		  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		  -DOSTP_SANITIZE
else
OPT		= -O2 -g -D_FORTIFY_SOURCE=2
endif
CFLAGS_ALL	= -std=gnu11 $(OPT) $(WARN) -fstack-protector-strong -fPIE \
		  $(CONF_CFLAGS_EXTRA)
LDFLAGS_ALL	= $(OPT) -pie -Wl,-z,relro,-z,now $(CONF_LDFLAGS)
LIBS_ALL	= $(EVENT_SSL_LIBS) $(EVENT_LIBS) $(MNL_LIBS) $(CAP_LIBS) \
		  $(SECCOMP_LIBS) $(YAJL_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS) -lm
# Only the workers' HTTP/2 transports (daemon/mux/h2.c) use it.
WORKER_LIBS	= $(NGHTTP2_LIBS) $(LWIP_LIBS)

COMMON_SRCS	= common/log.c common/buf.c common/ipc.c common/node.c \
		  common/conf.c common/confjson.c common/params.c common/router.c \
		  common/match.c common/cfgfile.c common/blake3.c \
		  common/cbuf.c common/ostpkeys.c common/ctlproto.c
MONITOR_SRCS	= monitor/monitor.c monitor/mon_dispatch.c monitor/mon_sock.c \
		  monitor/mon_tun.c monitor/mon_caps.c monitor/mon_tls.c \
		  monitor/steer.c monitor/mon_steer.c monitor/mon_rule.c \
		  monitor/mon_ctl.c monitor/mon_usage.c monitor/mon_ftcp.c
# daemon/: by role (see HACKING); a new file in a role folder is built.
DAEMON_SRCS	= daemon/ostpd.c daemon/worker.c daemon/worker_exec.c \
		  daemon/monitor_wrap.c daemon/sandbox.c \
		  $(sort $(wildcard daemon/core/*.c daemon/handler/*.c \
		  daemon/connector/*.c daemon/mux/*.c daemon/transport/*.c \
		  daemon/ostp/*.c daemon/capture/*.c)) \
		  $(PROTO_SRCS)
PROTO_SRCS	= daemon/proto/socks5.c daemon/proto/socks4.c daemon/proto/http.c \
		  daemon/proto/ss.c daemon/proto/sni.c daemon/proto/dns.c \
		  daemon/proto/relay.c daemon/proto/sscodec.c daemon/proto/smux.c \
		  daemon/proto/obfs.c daemon/proto/ws.c daemon/proto/uot.c \
		  daemon/proto/stun.c daemon/proto/ostp.c daemon/proto/ippkt.c \
		  daemon/proto/fakedns.c daemon/proto/tunsw.c \
		  daemon/proto/vnet.c daemon/proto/ftcp.c
OSTPD_SRCS	= $(COMMON_SRCS) $(MONITOR_SRCS) $(DAEMON_SRCS)
# Everything but main(), for the unit tests.
LIB_SRCS	= $(filter-out daemon/ostpd.c,$(OSTPD_SRCS))

OBJ		= $(BUILD)/obj
OBJT		= $(BUILD)/objt
OSTPD_OBJS	= $(OSTPD_SRCS:%.c=$(OBJ)/%.o)
OSTPDT_OBJS	= $(OSTPD_SRCS:%.c=$(OBJT)/%.o)
LIB_OBJS	= $(LIB_SRCS:%.c=$(OBJ)/%.o)

UNITTESTS	= test_buf test_ipc test_dispatch test_node test_conf test_proto \
		  test_match test_cfgfile test_blake3 test_sni test_dns \
		  test_relay test_ss test_smux test_obfs test_ws test_conn \
		  test_ostp test_uot test_stun test_ostpkeys test_steer \
		  test_ippkt test_ctl test_tunsw test_vnet test_arq \
		  test_ftcp
UNIT_BINS	= $(UNITTESTS:%=$(BUILD)/unittests/%)
FUZZERS		= fuzz_ipc fuzz_node fuzz_conf fuzz_match fuzz_cfgfile \
		  fuzz_proxy fuzz_sni fuzz_dns fuzz_relay fuzz_ss fuzz_smux \
		  fuzz_obfs fuzz_ws fuzz_h2 fuzz_ostp fuzz_uot fuzz_stun \
		  fuzz_ostpkeys fuzz_ippkt fuzz_fakedns fuzz_ctl fuzz_tunsw \
		  fuzz_vnet fuzz_ftcp
FUZZ_BINS	= $(FUZZERS:%=$(BUILD)/fuzz/%)

DEPS_PKGS	= build-essential autoconf automake pkg-config libssl-dev \
		  libevent-dev libmnl-dev libcap-dev libseccomp-dev \
		  libyajl-dev libpcap-dev libsodium-dev clang libclang-rt-14-dev iproute2 \
		  curl python3 procps socat mandoc iputils-ping \
		  openssl proxychains4 python3-socks dante-server squid \
		  shadowsocks-libev python3-cryptography v2ray unbound \
		  knot-dnsutils bind9-dnsutils iptables python3-websockets \
		  libnghttp2-dev nghttp2-client nghttp2-server nghttp2-proxy \
		  chromium coturn conntrack tcpdump liblwip-dev prometheus \
		  gsettings-desktop-schemas libglib2.0-bin iperf3 libkf5config-bin \
		  openvpn wireguard-go wireguard-tools \
		  golang-go golang-github-xtaci-tcpraw-dev \
		  git debhelper lintian fakeroot systemd bash-completion

.PHONY: all deps run check check-asan unittests fuzz-smoke fuzz-long \
	soak install deb check-fresh check-container clean distclean

all: $(BUILD)/ostpd $(BUILD)/ostpd-testhooks $(BUILD)/ostp-keygen \
    $(BUILD)/ostpctl

config.mk: configure.ac config.mk.in
	@$(MAKE) --no-print-directory deps
	autoreconf -fi
	./configure

# Idempotent: asks apt only for what is missing, quiet otherwise.
deps:
	@missing=$$(for p in $(DEPS_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null || exit 1; \
	fi
	@getent passwd _ostpd >/dev/null || \
	    useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin _ostpd

# Only the capture's glue sees lwIP's headers (they name posix/, arch/).
$(OBJ)/daemon/capture/%.o $(OBJT)/daemon/capture/%.o: \
    CPPFLAGS_ALL += $(LWIP_CFLAGS)

$(OBJ)/%.o: %.c config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -MMD -MP -c $< -o $@

$(OBJT)/%.o: %.c config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -DOSTP_TESTHOOKS -MMD -MP -c $< -o $@

$(BUILD)/ostpd: $(OSTPD_OBJS)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(WORKER_LIBS) $(LIBS_ALL)

# helper/: small programs beside the daemon, one source file each.
$(BUILD)/ostp-keygen: helper/ostp-keygen.c config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL)

# ostpctl: the control socket's client, and sysproxy (helper/sysproxy.c).
OSTPCTL_SRCS	= helper/ostpctl.c helper/sysproxy.c
$(BUILD)/ostpctl: $(OSTPCTL_SRCS) helper/sysproxy.h common/ctlproto.h \
    $(OBJ)/common/ctlproto.o $(OBJ)/common/buf.o config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -Ihelper -o $@ $(OSTPCTL_SRCS) \
	    $(OBJ)/common/ctlproto.o $(OBJ)/common/buf.o $(LDFLAGS_ALL) \
	    $(YAJL_LIBS)

# Test builds only: the worker misbehaves on SIGUSR2 (OSTP_TESTHOOK).
$(BUILD)/ostpd-testhooks: $(OSTPDT_OBJS)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(WORKER_LIBS) $(LIBS_ALL)

$(BUILD)/unittests/%: regress/unittests/%.c regress/unittests/test.h \
    $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -Iregress/unittests -o $@ $< \
	    $(LIB_OBJS) $(LDFLAGS_ALL) $(WORKER_LIBS) $(LIBS_ALL)

# Compiled test tools of the scenario tests (regress/tools/*.c, *.go):
# the C ones link the pure codecs they drive.
TOOL_BINS	= $(BUILD)/tools/stunprobe $(BUILD)/tools/ostpvec \
		  $(BUILD)/tools/tcprawpeer

$(BUILD)/tools/stunprobe: regress/tools/stunprobe.c $(OBJ)/daemon/proto/stun.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -o $@ $< \
	    $(OBJ)/daemon/proto/stun.o $(LDFLAGS_ALL) $(CRYPTO_LIBS)

$(BUILD)/tools/ostpvec: regress/tools/ostpvec.c daemon/proto/ostp.h \
    $(OBJ)/daemon/proto/ostp.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CPPFLAGS_ALL) -o $@ $< \
	    $(OBJ)/daemon/proto/ostp.o $(LDFLAGS_ALL) $(CRYPTO_LIBS)

# The gost tun peer over tcpraw's fake TCP (regress/tools/tcprawpeer.go):
# Go in GOPATH mode against Debian's packaged sources, no module
# download; the build cache stays in $(BUILD).
GO_ENV		= GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
		  GOPROXY=off GOCACHE=$(abspath $(BUILD))/gocache

$(BUILD)/tools/tcprawpeer: regress/tools/tcprawpeer.go
	@mkdir -p $(dir $@)
	$(GO_ENV) go build -o $@ regress/tools/tcprawpeer.go

unittests: $(UNIT_BINS) $(TOOL_BINS)

# libFuzzer harnesses: built with clang when configure found it.  The
# parsers are compiled once with coverage and sanitizers, then linked
# into each harness.
FUZZ_SRCS	= $(COMMON_SRCS) $(PROTO_SRCS)
FUZZ_OBJS	= $(FUZZ_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_FLAGS	= -std=gnu11 -g -O1 -fsanitize=address,undefined
# kept: not intermediates for make to remove after the harnesses link
.SECONDARY: $(FUZZ_OBJS)

$(BUILD)/fuzzobj/%.o: %.c config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS_ALL) \
	    -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: regress/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(CPPFLAGS_ALL) -o $@ $< \
	    $(FUZZ_OBJS) $(YAJL_LIBS) $(CRYPTO_LIBS)

# The HTTP/2 glue runs on connections and libevent, with libnghttp2.
FUZZ_H2_OBJS	= $(BUILD)/fuzzobj/daemon/core/conn.o \
		  $(BUILD)/fuzzobj/daemon/mux/h2.o
.SECONDARY: $(FUZZ_H2_OBJS)

$(BUILD)/fuzz/fuzz_h2: regress/fuzz/fuzz_h2.c $(FUZZ_OBJS) $(FUZZ_H2_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(CPPFLAGS_ALL) -o $@ $< \
	    $(FUZZ_H2_OBJS) $(FUZZ_OBJS) $(NGHTTP2_LIBS) $(EVENT_LIBS) \
	    $(YAJL_LIBS) $(CRYPTO_LIBS)

fuzz-smoke: $(if $(FUZZ_CC),$(FUZZ_BINS))
	@if [ -z "$(FUZZ_CC)" ]; then echo "fuzz-smoke: clang not found, skipped"; \
	else for f in $(FUZZ_BINS); do \
	    n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	    $$f -max_total_time=$${FUZZ_SECONDS:-10} -print_final_stats=0 \
	        -error_exitcode=1 -timeout_exitcode=1 \
	        -artifact_prefix=$(BUILD)/fuzz/$$n- \
	        $(BUILD)/fuzz/corpus-$$n regress/fuzz/seeds/$$n \
	        >$(BUILD)/fuzz/$$n.log 2>&1 || \
	        { echo "fuzz-smoke: $$n failed, see $(BUILD)/fuzz/$$n.log"; exit 1; }; \
	    echo "fuzz-smoke: $$n ok"; \
	done; fi

# Long runs, not part of check: FUZZ_SECONDS per harness (default 600).
fuzz-long: $(if $(FUZZ_CC),$(FUZZ_BINS))
	@if [ -z "$(FUZZ_CC)" ]; then echo "fuzz-long: clang not found"; \
	    exit 1; fi
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh regress/fuzz/long.sh

# Not part of check either: CONNS relayed connections for SECS s with
# churn, reloads and killed workers (bench/soak.sh; about SECS + 60 s).
soak: all
	@BUILD=$(BUILD) CONNS=$(or $(CONNS),10000) SECS=$(or $(SECS),600) \
	    HUP=$(or $(HUP),30) KILL=$(or $(KILL),60) \
	    WORKERS=$(or $(WORKERS),2) sh bench/soak.sh

check: deps all unittests $(if $(FUZZ_CC),$(FUZZ_BINS))
	@BUILD=$(BUILD) FUZZ_CC=$(FUZZ_CC) sh regress/run.sh

check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 check

run: deps all
	./$(BUILD)/ostpd $(or $(ARGS),-D -L 127.0.0.1:1080)

install: $(BUILD)/ostpd $(BUILD)/ostp-keygen $(BUILD)/ostpctl
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) \
	    $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(mandir)/man5 \
	    $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(sysconfdir)/ostpd \
	    $(DESTDIR)$(datarootdir)/bash-completion/completions
	install -m 755 $(BUILD)/ostpd $(DESTDIR)$(sbindir)/ostpd
	install -m 755 $(BUILD)/ostp-keygen $(DESTDIR)$(bindir)/ostp-keygen
	# bindir: sysproxy runs as the desktop user, the rest as root
	install -m 755 $(BUILD)/ostpctl $(DESTDIR)$(bindir)/ostpctl
	install -m 644 man/ostpctl.8 $(DESTDIR)$(mandir)/man8/ostpctl.8
	install -m 644 contrib/bash-completion/ostpctl \
	    $(DESTDIR)$(datarootdir)/bash-completion/completions/ostpctl
	install -m 644 man/ostp-keygen.1 $(DESTDIR)$(mandir)/man1/ostp-keygen.1
	install -m 644 man/ostpd.8 $(DESTDIR)$(mandir)/man8/ostpd.8
	install -m 644 man/ostpd.conf.5 $(DESTDIR)$(mandir)/man5/ostpd.conf.5
	install -m 644 contrib/ostpd.json \
	    $(DESTDIR)$(sysconfdir)/ostpd/ostpd.json.example

# The Debian package (debian/, native): built with dpkg-buildpackage in
# a copy of the tracked files under $(BUILD)/deb/, which also receives
# the .deb; then lintian, which must report no error and no warning.
# Rebuilt only when a tracked file is newer than the package.
DEB_DIR		= $(BUILD)/deb
DEB_VERSION	:= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB_ARCH	:= $(shell dpkg --print-architecture 2>/dev/null)
DEB		= $(DEB_DIR)/ostpd_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRC		= $(DEB_DIR)/ostp-$(DEB_VERSION)

deb: $(DEB)

$(DEB): $(wildcard $(shell git ls-files 2>/dev/null))
	@$(MAKE) --no-print-directory deps
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -j2 \
	    >../build.log 2>&1 || \
	    { tail -40 ../build.log; echo "make deb: failed, see $(DEB_DIR)/build.log"; exit 1; }
	lintian --fail-on error,warning --info \
	    $(DEB_DIR)/ostp_$(DEB_VERSION)_$(DEB_ARCH).changes
	@echo "make deb: $(DEB)"

# Not part of check: README's commands in a fresh Debian 12 root
# (regress/fresh/check-fresh.sh; 15-25 minutes, bounded by
# FRESH_TIMEOUT seconds), and the container image made from such a
# root with the package (regress/fresh/container.sh).
FRESH_PKGS	= debootstrap podman runc git
FRESH_TIMEOUT	?= 3600

check-fresh:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(FRESH_PKGS)"
	@BUILD=$(BUILD) timeout $(FRESH_TIMEOUT) sh regress/fresh/check-fresh.sh

check-container: deb
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(FRESH_PKGS)"
	@BUILD=$(BUILD) timeout 1200 sh regress/fresh/container.sh

clean:
	rm -rf build build-asan

distclean: clean
	rm -rf config.mk config.h config.log config.status configure \
	    autom4te.cache aclocal.m4 config.h.in config.h.in~

# header dependencies of every object, the fuzzers' too (a stale
# object built against an older struct layout is silent corruption)
-include $(OSTPD_OBJS:.o=.d) $(OSTPDT_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) \
	$(FUZZ_H2_OBJS:.o=.d)
