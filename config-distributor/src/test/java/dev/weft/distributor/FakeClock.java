package dev.weft.distributor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A clock that moves only when a test moves it, and a {@link ScheduledExecutorService} whose tasks
 * run only then, on the test's thread: time-driven code (debouncing, timeouts, latency figures)
 * becomes a sequence of steps a test controls, with no sleeps and exact readings. After grpc-java's
 * {@code io.grpc.internal.FakeClock}, which is not published, with one difference: moving time
 * forward stops at every task's due time on the way, so a task reads the clock at the moment it was
 * due, not at the end of the step, and figures come out exactly as scheduled.
 *
 * <p>Tasks submitted with no delay (from any thread: a registry's writer hands its snapshots over
 * this way) are due at once and run at the next {@link #runDueTasks}. Tasks due at the same time
 * run in the order they were scheduled.
 *
 * <p>Thread-safety: the queue and the time are guarded by this object's monitor; tasks run outside
 * it, on the thread that called {@link #runDueTasks} or {@link #forwardTime}, one at a time as long
 * as one thread drives the clock.
 */
final class FakeClock {

  /** An arbitrary start, far from zero, so that code that took 0 for "never" shows itself. */
  private static final long START_NANOS = TimeUnit.DAYS.toNanos(1);

  /** What {@link #wallClock} reads before time moves. */
  static final Instant WALL_START = Instant.parse("2026-01-01T00:00:00Z");

  private final PriorityQueue<Task<?>> tasks = new PriorityQueue<>();
  private final ScheduledExecutorService scheduler = new Scheduler();
  private long nanos = START_NANOS;
  private long scheduledCount;
  private boolean shutdown;

  /** The executor whose tasks run when time is moved; shutting it down rejects new tasks. */
  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** The clock's reading in nanoseconds, as {@link System#nanoTime()}: for a nano clock setting. */
  LongSupplier ticker() {
    return this::nanoTime;
  }

  synchronized long nanoTime() {
    return nanos;
  }

  /** A wall clock that moves with this one, from {@link #WALL_START}: for a wall clock setting. */
  Clock wallClock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("the fake wall clock is in UTC");
      }

      @Override
      public Instant instant() {
        return WALL_START.plusNanos(nanoTime() - START_NANOS);
      }
    };
  }

  /**
   * Moves time forward by {@code duration}, stopping at each task's due time to run the tasks due
   * then (and those they schedule for then). Returns how many tasks ran.
   */
  int forwardTime(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("time moves forward only: " + duration);
    }
    long target;
    synchronized (this) {
      target = nanos + duration.toNanos();
    }
    int ran = 0;
    while (true) {
      ran += runDueTasks();
      synchronized (this) {
        Task<?> next = tasks.peek();
        if (next == null || next.dueNanos - target > 0) {
          nanos = target;
          break;
        }
        nanos = next.dueNanos;
      }
    }
    return ran + runDueTasks();
  }

  /** Runs every task due by now, those they schedule for now included. Returns how many ran. */
  int runDueTasks() {
    int ran = 0;
    Task<?> task;
    while ((task = pollDue()) != null) {
      task.run();
      ran++;
    }
    return ran;
  }

  /** How many tasks wait, due or not. */
  synchronized int pendingTaskCount() {
    return tasks.size();
  }

  private synchronized Task<?> pollDue() {
    Task<?> next = tasks.peek();
    if (next == null || next.dueNanos - nanos > 0) {
      return null;
    }
    return tasks.poll();
  }

  private synchronized <V> Task<V> add(Task<V> task) {
    if (shutdown) {
      throw new RejectedExecutionException("the fake clock's scheduler is shut down");
    }
    tasks.add(task);
    return task;
  }

  private synchronized long dueIn(long delay, TimeUnit unit) {
    return nanos + Math.max(0, unit.toNanos(delay));
  }

  /** A scheduled task; periodic ones put themselves back after each run. */
  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    private final long sequence;
    private final long periodNanos;
    private final boolean fixedRate;
    private long dueNanos;

    Task(Callable<V> work, long dueNanos, long periodNanos, boolean fixedRate) {
      super(work);
      synchronized (FakeClock.this) {
        this.sequence = scheduledCount++;
      }
      this.dueNanos = dueNanos;
      this.periodNanos = periodNanos;
      this.fixedRate = fixedRate;
    }

    @Override
    public void run() {
      if (periodNanos == 0) {
        super.run();
        return;
      }
      if (runAndReset()) {
        synchronized (FakeClock.this) {
          dueNanos = fixedRate ? dueNanos + periodNanos : nanos + periodNanos;
          if (!shutdown) {
            tasks.add(this);
          }
        }
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      synchronized (FakeClock.this) {
        tasks.remove(this);
      }
      return cancelled;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      synchronized (FakeClock.this) {
        return unit.convert(dueNanos - nanos, TimeUnit.NANOSECONDS);
      }
    }

    /** By due time (as {@link System#nanoTime()} readings compare), then by scheduling order. */
    @Override
    public int compareTo(Delayed other) {
      Task<?> that = (Task<?>) other;
      int byTime = Long.signum(dueNanos - that.dueNanos);
      return byTime != 0 ? byTime : Long.compare(sequence, that.sequence);
    }
  }

  /** The executor side; everything it runs waits for the clock to move. */
  private final class Scheduler extends AbstractExecutorService
      implements ScheduledExecutorService {

    @Override
    public void execute(Runnable command) {
      var unused = schedule(command, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      return add(new Task<>(Executors.callable(command), dueIn(delay, unit), 0, false));
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      return add(new Task<>(callable, dueIn(delay, unit), 0, false));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(
        Runnable command, long initialDelay, long period, TimeUnit unit) {
      return add(
          new Task<>(
              Executors.callable(command),
              dueIn(initialDelay, unit),
              positive(period, unit),
              true));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(
        Runnable command, long initialDelay, long delay, TimeUnit unit) {
      return add(
          new Task<>(
              Executors.callable(command),
              dueIn(initialDelay, unit),
              positive(delay, unit),
              false));
    }

    private long positive(long period, TimeUnit unit) {
      if (period <= 0) {
        throw new IllegalArgumentException("a period must be positive: " + period + " " + unit);
      }
      return unit.toNanos(period);
    }

    @Override
    public void shutdown() {
      synchronized (FakeClock.this) {
        shutdown = true;
      }
    }

    @Override
    public List<Runnable> shutdownNow() {
      synchronized (FakeClock.this) {
        shutdown = true;
        List<Runnable> never = new ArrayList<>(tasks);
        tasks.clear();
        return never;
      }
    }

    @Override
    public boolean isShutdown() {
      synchronized (FakeClock.this) {
        return shutdown;
      }
    }

    @Override
    public boolean isTerminated() {
      synchronized (FakeClock.this) {
        return shutdown && tasks.isEmpty();
      }
    }

    /** Nothing runs unless the test moves time: waiting would never see the tasks end. */
    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return isTerminated();
    }
  }
}
