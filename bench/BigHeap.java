import java.io.IOException;
import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Builds a large, realistic Java heap of a given live size, prints READY and waits (until stdin is closed),
 * so that a heap dump can be taken from outside (see make-dump.sh).
 *
 * Usage: java -Xmx12g -XX:+UseParallelGC BigHeap 4g [seed [chain-length]]
 *
 * seed: for the generated content (default 42). chain-length: nodes in the deep singly linked chain
 * (default: target/1024 clamped to 100k..2M); 0 leaves out all deep chains (VisualVM's dominator tree is
 * very slow on long doubly linked lists, see bench/README.md).
 * Sizes: plain bytes or with a k/m/g/t suffix (binary units, fractions allowed: 1.5g).
 * The live size is measured as Runtime.totalMemory() - freeMemory() right after System.gc(); the builder
 * keeps allocating until it is within ~2% of the target (it may overshoot by a few MB).
 *
 * What the heap holds (all deterministic for a given seed, except identity hashes and addresses):
 *  - "tenants": the bulk. Each has a HashMap of Customers (entity hierarchy: Entity <- Customer/Order,
 *    fields of every kind), their Addresses, Orders (ArrayList, enum, LocalDate, OrderLine[], BigDecimal,
 *    boxed Integer/Long), Latin-1 and UTF-16 Strings (incl. surrogate pairs), per-customer attribute
 *    HashMaps/LinkedHashMaps, ConcurrentHashMap counters, TreeMap audit logs, LinkedList/ArrayDeque,
 *    HashSet, primitive arrays of all 8 types (empty to a few 100k elements), Object[]/String[]/int[][],
 *    records, weak/soft references, lambdas.
 *  - a global ConcurrentHashMap index over a quarter of all customers (a typical "cache leak").
 *  - deep chains: a singly linked chain of 100k..2M nodes, a doubly linked chain of 100k+ nodes, a
 *    java.util.LinkedList of 200k+ boxed Longs, and a chain of 150k Metrics objects.
 *  - a few large arrays of tens of MB (long[], byte[], int[], double[], char[], Object[]).
 *  - static fields of every type (class Config), a few parked threads holding objects in local variables.
 */
public class BigHeap {

    // ---- the model ------------------------------------------------------------------------------------

    enum OrderStatus { NEW, PAID, SHIPPED, DELIVERED, CANCELLED, REFUNDED }

    record Money(long cents, String currency) {}

    static abstract class Entity {
        final long id;
        int version;
        long createdAtMillis;
        Entity(long id) { this.id = id; }
    }

    static final class Customer extends Entity {
        String name;
        String email;
        int age;
        boolean active;
        char tier;
        float score;
        Address address;
        List<Order> orders;
        Map<String, Object> attributes;
        String[] tags;
        Customer referrer;
        Customer(long id) { super(id); }
    }

    static final class Address {
        String street;
        String city;
        String country;
        int zip;
        double lat, lon;
    }

    static final class Order extends Entity {
        Customer owner;
        OrderStatus status;
        double amount;
        LocalDate date;
        OrderLine[] lines;
        Long discountCents;
        Money total;
        Order(long id) { super(id); }
    }

    static final class OrderLine {
        String sku;
        int qty;
        Integer priceCents;
        BigDecimal tax;
        short warehouse;
        byte flags;
    }

    /** One field of every primitive type, plus a reference to chain them. */
    static final class Metrics {
        byte b; short s; char c; int i; long l; float f; double d; boolean z;
        Metrics next;
    }

    static final class Node {
        Node next;
        long value;
        Object payload;
    }

    static final class DNode {
        DNode prev, next;
        int value;
    }

    static final class Tenant {
        final String name;
        HashMap<Long, Customer> customers;
        ConcurrentHashMap<String, Integer> counters;
        TreeMap<Integer, String> audit;
        LinkedList<Long> recentIds;
        ArrayDeque<Object> queue;
        HashSet<String> skus;
        ArrayList<Object> misc;
        Object[] blobs;
        int[][] matrix;
        String[][] table;
        Customer[] topCustomers;
        Metrics metrics;
        List<WeakReference<Customer>> weak;
        SoftReference<byte[]> softCache;
        Supplier<String> describer;
        Tenant(String name) { this.name = name; }
    }

    /** Static fields of every type: class dumps must carry them. */
    static final class Config {
        static boolean enabled = true;
        static byte level = 3;
        static char mode = 'Ω';
        static short port16 = 8080;
        static int maxConnections = 1024;
        static long startedAt = 1_700_000_000_000L;
        static float ratio = 0.75f;
        static double pi = Math.PI;
        static String name = "oomsleuth-bigheap";
        static Object[] empty = new Object[0];
        static Map<String, String> settings = new HashMap<>();
    }

    // ---- roots ----------------------------------------------------------------------------------------

    static final List<Tenant> TENANTS = new CopyOnWriteArrayList<>();
    static final ConcurrentHashMap<Long, Customer> GLOBAL_INDEX = new ConcurrentHashMap<>();
    static final List<Object> STATIC_ROOTS = new ArrayList<>();
    static Node CHAIN;
    static DNode DCHAIN;
    static LinkedList<Long> BIG_LINKED_LIST;
    static Metrics METRICS_CHAIN;
    static Object[] BIG_REFS;

    // ---- shared pools (shared references, as in real apps) -----------------------------------------------

    static final String[] FIRST = {
        "Anna", "Bob", "Carla", "David", "Emma", "Frank", "Grace", "Hugo", "Iris", "Jack", "Karl", "Lena",
        // Latin-1 but not ASCII
        "José", "Zoë", "Müller", "François", "Åsa", "Søren", "Íñigo", "Björn",
        // UTF-16 (chars > 0xFF, incl. surrogate pairs)
        "Łukasz", "Dvořák", "Ольга", "Дмитрий", "東京", "王芳", "Ἀθηνᾶ", "Ελένη", "محمد", "שרה", "김민준",
        "Emoji😀", "𝔐𝔞𝔯𝔦𝔞"
    };
    static final String[] LAST = {
        "Smith", "Jones", "Garcia", "Martin", "Rossi", "Novak", "Kowalski", "Schmidt", "Dubois", "Silva",
        "Øvergård", "Nuñez", "Şahin", "Nguyễn", "Иванов", "佐藤", "Παπαδόπουλος"
    };
    static final String[] CITIES = {
        "Berlin", "Paris", "London", "Madrid", "Roma", "Wien", "Zürich", "Kraków", "Praha", "Lisboa",
        "Москва", "東京", "Αθήνα", "İstanbul", "São Paulo", "New York", "Montréal"
    };
    static final String[] COUNTRIES = { "DE", "FR", "GB", "ES", "IT", "AT", "CH", "PL", "CZ", "PT", "RU", "JP", "GR", "TR", "BR", "US", "CA" };
    static final String[] CURRENCIES = { "EUR", "USD", "GBP", "CHF", "JPY", "PLN" };
    static final String[] ATTR_KEYS = { "locale", "timezone", "newsletter", "lastLogin", "loginCount", "theme", "segment", "ltv", "device" };
    static final String[] TAGS = { "vip", "new", "churn-risk", "b2b", "wholesale", "gift", "internal", "test" };
    static final String[] SKUS = new String[10_000];
    static {
        for (int i = 0; i < SKUS.length; i++) SKUS[i] = "SKU-" + (100000 + i);
        for (int i = 0; i < 50; i++) Config.settings.put("setting." + i, "value-" + i);
    }

    // ---- sizes ----------------------------------------------------------------------------------------

    static long parseSize(String s) {
        s = s.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
        long mult = 1;
        char last = s.charAt(s.length() - 1);
        switch (last) {
            case 'k': mult = 1L << 10; break;
            case 'm': mult = 1L << 20; break;
            case 'g': mult = 1L << 30; break;
            case 't': mult = 1L << 40; break;
            default: break;
        }
        if (mult != 1) s = s.substring(0, s.length() - 1);
        return (long) (Double.parseDouble(s) * mult);
    }

    static String mb(long bytes) { return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0); }

    static long used() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    static long liveAfterGc() {
        System.gc();
        System.gc();
        return used();
    }

    static void log(String msg) {
        System.err.printf(Locale.ROOT, "[BigHeap %6.1fs] %s%n", (System.nanoTime() - T0) / 1e9, msg);
        System.err.flush();
    }

    static final long T0 = System.nanoTime();
    static final AtomicLong CUSTOMERS = new AtomicLong();
    static final AtomicLong ORDERS = new AtomicLong();

    // ---- builders -------------------------------------------------------------------------------------

    static String personName(SplittableRandom r) {
        return FIRST[r.nextInt(FIRST.length)] + " " + LAST[r.nextInt(LAST.length)] + " " + r.nextInt(100_000);
    }

    static Object primitiveArray(SplittableRandom r, int type, int len) {
        switch (type) {
            case 0: { boolean[] a = new boolean[len]; for (int i = 0; i < len; i += 3) a[i] = true; return a; }
            case 1: { byte[] a = new byte[len]; for (int i = 0; i < len; i++) a[i] = (byte) (i * 31); return a; }
            case 2: { char[] a = new char[len]; for (int i = 0; i < len; i++) a[i] = (char) ('a' + i % 26); return a; }
            case 3: { short[] a = new short[len]; for (int i = 0; i < len; i++) a[i] = (short) i; return a; }
            case 4: { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = i * 7; return a; }
            case 5: { long[] a = new long[len]; for (int i = 0; i < len; i++) a[i] = i * 1_000_003L; return a; }
            case 6: { float[] a = new float[len]; for (int i = 0; i < len; i++) a[i] = i * 0.5f; return a; }
            default: { double[] a = new double[len]; for (int i = 0; i < len; i++) a[i] = i * 0.25; return a; }
        }
    }

    /** Mostly small, some medium, a few large. */
    static int arrayLength(SplittableRandom r) {
        int p = r.nextInt(1000);
        if (p < 20) return 0;
        if (p < 700) return 1 + r.nextInt(64);
        if (p < 960) return 64 + r.nextInt(4096);
        if (p < 998) return 4096 + r.nextInt(65536);
        return 65536 + r.nextInt(262144);
    }

    static Customer customer(SplittableRandom r, long id) {
        Customer c = new Customer(id);
        c.version = r.nextInt(10);
        c.createdAtMillis = 1_600_000_000_000L + r.nextLong(100_000_000_000L);
        c.name = personName(r);
        c.email = "user" + id + "@example" + r.nextInt(100) + ".com";
        c.age = 18 + r.nextInt(80);
        c.active = r.nextInt(10) != 0;
        c.tier = "BSGP".charAt(r.nextInt(4));
        c.score = r.nextFloat();
        Address a = new Address();
        a.street = r.nextInt(400) + " " + LAST[r.nextInt(LAST.length)] + (r.nextBoolean() ? " Street" : "straße");
        int city = r.nextInt(CITIES.length);
        a.city = CITIES[city];
        a.country = COUNTRIES[city];
        a.zip = 10000 + r.nextInt(89999);
        a.lat = r.nextDouble() * 180 - 90;
        a.lon = r.nextDouble() * 360 - 180;
        c.address = a;
        int nOrders = r.nextInt(5);
        c.orders = new ArrayList<>(nOrders == 0 ? 0 : 10);
        for (int k = 0; k < nOrders; k++) {
            Order o = new Order(id * 16 + k);
            o.owner = c; // back reference: cycles
            o.status = OrderStatus.values()[r.nextInt(OrderStatus.values().length)];
            o.amount = r.nextInt(100_000) / 100.0;
            o.date = LocalDate.ofEpochDay(18_000 + r.nextInt(2_000));
            int nLines = 1 + r.nextInt(4);
            o.lines = new OrderLine[nLines];
            for (int l = 0; l < nLines; l++) {
                OrderLine ol = new OrderLine();
                ol.sku = SKUS[r.nextInt(SKUS.length)];
                ol.qty = 1 + r.nextInt(20);
                ol.priceCents = 1000 + r.nextInt(100_000); // boxed, not in the Integer cache
                if (r.nextInt(4) == 0) ol.tax = BigDecimal.valueOf(r.nextLong(1L << 40), 2);
                ol.warehouse = (short) r.nextInt(50);
                ol.flags = (byte) r.nextInt(8);
                o.lines[l] = ol;
            }
            if (r.nextInt(3) == 0) o.discountCents = 100_000L + r.nextInt(1_000_000);
            if (r.nextInt(2) == 0) o.total = new Money((long) (o.amount * 100), CURRENCIES[r.nextInt(CURRENCIES.length)]);
            c.orders.add(o);
        }
        ORDERS.addAndGet(nOrders);
        int pa = r.nextInt(10);
        if (pa < 3) {
            Map<String, Object> m = pa == 0 ? new LinkedHashMap<>() : new HashMap<>();
            int nAttr = 1 + r.nextInt(ATTR_KEYS.length);
            for (int k = 0; k < nAttr; k++) {
                String key = ATTR_KEYS[k];
                Object v;
                switch (k % 5) {
                    case 0: v = r.nextBoolean() ? "en_US" : "de_CH"; break;
                    case 1: v = Integer.valueOf(r.nextInt(1_000_000)); break;
                    case 2: v = Long.valueOf(c.createdAtMillis + r.nextInt(1 << 30)); break;
                    case 3: v = Double.valueOf(r.nextDouble()); break;
                    default: v = LocalDateTime.of(2024, 1 + r.nextInt(12), 1 + r.nextInt(28), r.nextInt(24), r.nextInt(60)); break;
                }
                m.put(key, v);
            }
            c.attributes = m;
        }
        if (r.nextInt(4) == 0) {
            int nt = 1 + r.nextInt(3);
            c.tags = new String[nt];
            for (int k = 0; k < nt; k++) c.tags[k] = TAGS[r.nextInt(TAGS.length)];
        }
        CUSTOMERS.incrementAndGet();
        return c;
    }

    static Tenant tenant(long seed, int index) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        Tenant t = new Tenant("tenant-" + index + (index % 7 == 0 ? "-Ünïcødé-租户" : ""));
        int nCustomers = 200 + r.nextInt(2800);
        // some presized, some grown (the latter leave realistic half-empty tables)
        t.customers = r.nextBoolean() ? new HashMap<>(nCustomers * 4 / 3 + 1) : new HashMap<>();
        Customer prev = null;
        Customer[] all = new Customer[nCustomers];
        for (int i = 0; i < nCustomers; i++) {
            long id = (long) index * 1_000_000L + i;
            Customer c = customer(r, id);
            if (prev != null && r.nextInt(8) == 0) c.referrer = prev;
            prev = c;
            all[i] = c;
            t.customers.put(id, c);
            if ((i & 3) == 0) GLOBAL_INDEX.put(id, c);
        }
        t.topCustomers = Arrays.copyOf(all, Math.min(100, nCustomers));

        t.counters = new ConcurrentHashMap<>();
        for (int i = 0; i < 64 + r.nextInt(512); i++) t.counters.put("counter." + i + ".count", 1000 + r.nextInt(1 << 20));

        t.audit = new TreeMap<>();
        int nAudit = r.nextInt(3000);
        for (int i = 0; i < nAudit; i++) {
            t.audit.put(r.nextInt(), "event " + i + (r.nextInt(5) == 0 ? " — überprüft ✓" : " ok"));
        }

        t.recentIds = new LinkedList<>();
        for (int i = 0; i < 100 + r.nextInt(1000); i++) t.recentIds.add(all[r.nextInt(nCustomers)].id);

        t.queue = new ArrayDeque<>();
        for (int i = 0; i < r.nextInt(200); i++) t.queue.add(i % 2 == 0 ? (Object) Long.valueOf(r.nextLong()) : (Object) ("job-" + i));

        t.skus = new HashSet<>();
        for (int i = 0; i < r.nextInt(500); i++) t.skus.add(SKUS[r.nextInt(SKUS.length)]);

        // primitive arrays of all 8 types, and Object[] mixing everything
        int nArrays = 50 + r.nextInt(300);
        t.blobs = new Object[nArrays];
        for (int i = 0; i < nArrays; i++) t.blobs[i] = primitiveArray(r, i % 8, arrayLength(r));

        t.misc = new ArrayList<>();
        for (int i = 0; i < 200 + r.nextInt(800); i++) {
            switch (r.nextInt(10)) {
                case 0: t.misc.add(Integer.valueOf(r.nextInt())); break;
                case 1: t.misc.add(Long.valueOf(r.nextLong())); break;
                case 2: t.misc.add(Integer.valueOf(r.nextInt(128))); break; // cached: shared
                case 3: t.misc.add("misc-" + r.nextInt(1_000_000)); break;
                case 4: t.misc.add(FIRST[r.nextInt(FIRST.length)] + "·" + i); break;
                case 5: t.misc.add(Double.valueOf(r.nextDouble())); break;
                case 6: t.misc.add(new Object[] { null, all[r.nextInt(nCustomers)], i, "x" + i }); break;
                case 7: t.misc.add(new BigInteger(80 + r.nextInt(200), new Random(r.nextLong()))); break;
                case 8: t.misc.add(null); break;
                default: t.misc.add(primitiveArray(r, r.nextInt(8), r.nextInt(32))); break;
            }
        }

        int rows = 1 + r.nextInt(64), cols = 1 + r.nextInt(64);
        t.matrix = new int[rows][cols];
        t.table = new String[Math.min(rows, 8)][];
        for (int i = 0; i < t.table.length; i++) {
            t.table[i] = new String[3];
            for (int j = 0; j < 3; j++) t.table[i][j] = "cell(" + i + "," + j + ")";
        }

        Metrics m = null;
        for (int i = 0; i < 32; i++) {
            Metrics x = new Metrics();
            x.b = (byte) i; x.s = (short) (i * 100); x.c = (char) ('A' + i); x.i = i * 1000; x.l = i * 1_000_000_000L;
            x.f = i / 3f; x.d = i / 7.0; x.z = (i & 1) == 0; x.next = m;
            m = x;
        }
        t.metrics = m;

        t.weak = new ArrayList<>();
        for (int i = 0; i < 16; i++) t.weak.add(new WeakReference<>(all[r.nextInt(nCustomers)]));
        t.softCache = new SoftReference<>(new byte[1024 + r.nextInt(4096)]);
        final String tn = t.name;
        final int n = nCustomers;
        t.describer = () -> tn + " with " + n + " customers";
        return t;
    }

    /** Default length of the deep singly linked chain: 100k..2M nodes, 1M for 1 GB. */
    static int defaultChainLength(long target) {
        return (int) Math.max(100_000, Math.min(2_000_000, target / 1024));
    }

    /**
     * chainLen: the singly linked chain; the doubly linked chain gets max(chainLen / 4, min(chainLen, 100k))
     * nodes and the big java.util.LinkedList max(chainLen / 8, min(chainLen, 200k)). 0: no deep chains.
     */
    static void buildFixedStructures(long target, int chainLen) {
        double scale = Math.min(1.0, target / (double) (1L << 30)); // large arrays: full size from 1 GB up
        Node head = null;
        for (int i = 0; i < chainLen; i++) {
            Node n = new Node();
            n.value = i;
            if (i % 1000 == 0) n.payload = "chain-node-" + i;
            n.next = head;
            head = n;
        }
        CHAIN = head;

        DNode dh = new DNode(), cur = dh;
        for (int i = 1; i < Math.max(chainLen / 4, Math.min(chainLen, 100_000)); i++) {
            DNode n = new DNode();
            n.value = i;
            n.prev = cur;
            cur.next = n;
            cur = n;
        }
        DCHAIN = dh;

        BIG_LINKED_LIST = new LinkedList<>();
        for (long i = 0; i < Math.max(chainLen / 8, Math.min(chainLen, 200_000)); i++) BIG_LINKED_LIST.add(i * 1_000L);

        Metrics m = null;
        for (int i = 0; i < Math.min(chainLen, 150_000); i++) {
            Metrics x = new Metrics();
            x.i = i; x.l = -i; x.next = m;
            m = x;
        }
        METRICS_CHAIN = m;

        // a few large arrays (tens of MB)
        long[] longs = new long[(int) (4_000_000 * scale) + 1];
        Arrays.fill(longs, 0x0123456789ABCDEFL);
        byte[] bytes = new byte[(int) (48_000_000 * scale) + 1];
        for (int i = 0; i < bytes.length; i += 4096) bytes[i] = (byte) i;
        int[] ints = new int[(int) (6_000_000 * scale) + 1];
        for (int i = 0; i < ints.length; i++) ints[i] = i;
        double[] doubles = new double[(int) (3_000_000 * scale) + 1];
        char[] chars = new char[(int) (10_000_000 * scale) + 1];
        Arrays.fill(chars, 'z');
        STATIC_ROOTS.add(longs);
        STATIC_ROOTS.add(bytes);
        STATIC_ROOTS.add(ints);
        STATIC_ROOTS.add(doubles);
        STATIC_ROOTS.add(chars);
        BIG_REFS = new Object[(int) (5_000_000 * scale) + 1]; // filled at the end with refs into the tenants

        // empty arrays of every type
        STATIC_ROOTS.add(new boolean[0]); STATIC_ROOTS.add(new byte[0]); STATIC_ROOTS.add(new char[0]);
        STATIC_ROOTS.add(new short[0]); STATIC_ROOTS.add(new int[0]); STATIC_ROOTS.add(new long[0]);
        STATIC_ROOTS.add(new float[0]); STATIC_ROOTS.add(new double[0]); STATIC_ROOTS.add(new String[0]);
        // a long String of each coder
        STATIC_ROOTS.add("L".repeat(1 << 20));
        STATIC_ROOTS.add("Ü".repeat(1 << 16) + "東".repeat(1 << 16));
        STATIC_ROOTS.add(Config.name);
        STATIC_ROOTS.add(Config.settings);
    }

    /** Builds tenants on all cores until the heap (without GC) reaches `goalUsed`. */
    static void buildTenantsUntil(long seed, AtomicInteger next, long goalUsed) throws InterruptedException {
        int nThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
        Thread[] ts = new Thread[nThreads];
        for (int k = 0; k < nThreads; k++) {
            ts[k] = new Thread(() -> {
                while (used() < goalUsed) TENANTS.add(tenant(seed, next.getAndIncrement()));
            }, "builder-" + k);
            ts[k].start();
        }
        for (Thread t : ts) t.join();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: java -Xmx<heap> BigHeap <target-live-size e.g. 4g> [seed [chain-length]]");
            System.exit(2);
        }
        long target = parseSize(args[0]);
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 42L;
        int chainLen = args.length > 2 ? Integer.parseInt(args[2]) : defaultChainLength(target);
        long max = Runtime.getRuntime().maxMemory();
        log("target live " + mb(target) + ", max heap " + mb(max) + ", deep chain length " + chainLen);
        if (target > max * 0.9) log("WARNING: target is close to -Xmx; expect OutOfMemoryError or long GCs");

        buildFixedStructures(target, chainLen);
        long live = liveAfterGc();
        log("fixed structures (chains, large arrays): live " + mb(live));

        AtomicInteger next = new AtomicInteger();
        long goal = target; // first pass: without GC, used = live + some garbage, so this undershoots a bit
        for (int pass = 1; pass <= 8 && live < target * 0.98 && target - live > (8L << 20); pass++) {
            long before = live;
            buildTenantsUntil(seed, next, goal);
            long usedBefore = used();
            live = liveAfterGc();
            double liveFraction = Math.max(0.3, Math.min(1.0, (live - before) / (double) Math.max(1, usedBefore - before)));
            log(String.format(Locale.ROOT, "pass %d: %d tenants, live %s (%.1f%% of target), live fraction of new allocations %.2f",
                    pass, next.get(), mb(live), 100.0 * live / target, liveFraction));
            goal = Math.min(live + (long) ((target - live) / liveFraction), (long) (max * 0.92));
        }

        // fill the large Object[] with references into the tenants (shared with the maps)
        Object[] refs = BIG_REFS;
        int ti = 0;
        List<Tenant> tenants = new ArrayList<>(TENANTS);
        for (int i = 0; i < refs.length && !tenants.isEmpty(); i++) {
            Tenant t = tenants.get(ti++ % tenants.size());
            Customer[] top = t.topCustomers;
            refs[i] = (i & 1) == 0 ? top[i % top.length] : top[i % top.length].name;
        }

        // threads holding objects only in local variables (thread/frame GC roots)
        CountDownLatch never = new CountDownLatch(1);
        for (int k = 0; k < 3; k++) {
            final int kk = k;
            Thread th = new Thread(() -> {
                Object localBlob = new byte[1 << 20];
                Tenant localTenant = tenant(seed + 1, 1_000_000 + kk); // reachable only from this stack frame
                Object localStr = "thread-local-" + kk;
                try { never.await(); } catch (InterruptedException ignored) { }
                if (localBlob.hashCode() == localTenant.hashCode()) System.out.println(localStr);
            }, "parked-worker-" + k);
            th.setDaemon(true);
            th.start();
        }
        ThreadLocal<byte[]> tl = new ThreadLocal<>();
        tl.set(new byte[64 * 1024]);
        Thread.sleep(200);

        live = liveAfterGc();
        log(String.format(Locale.ROOT, "done: %d tenants, %d customers, %d orders, global index %d, live %s (target %s)",
                TENANTS.size(), CUSTOMERS.get(), ORDERS.get(), GLOBAL_INDEX.size(), mb(live), mb(target)));
        System.out.println("READY");
        System.out.flush();

        // block until stdin is closed (or any input arrives followed by EOF)
        Object keepAlive = tl.get();
        try {
            while (System.in.read() != -1) { /* keep waiting */ }
        } catch (IOException ignored) { }
        if (keepAlive == null) System.out.println("unreachable");
        never.countDown();
    }
}
