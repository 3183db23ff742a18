#include "base/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace sirr::metrics {
namespace {

TEST(MetricsTest, EscapesLabelValuesAndHelpPerTheExpositionFormat) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");  // quotes stay in help text
}

TEST(MetricsTest, FormatsValuesAsGoParseFloatReadsThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTest, RendersCountersGaugesAndLabelledFamilies) {
  Registry r;
  Counter c;
  c.Inc(3);
  Gauge g;
  g.Set(1.5);
  Family<Counter> requests({"route", "code"});
  requests.With({"/api/v1/vaults/{vault}", "200"}).Inc();
  requests.With({"/api/v1/vaults/{vault}", "200"}).Inc();
  requests.With({"weird \"route\"\n", "404"}).Inc();
  r.Add("sirr_things_total", "Things.\nSecond line", c);
  r.Add("sirr_level", "A level.", g, {{"kind", "x"}});
  r.Add("sirr_requests_total", "Requests.", requests);
  const std::string text = r.Render();
  EXPECT_NE(text.find("# HELP sirr_things_total Things.\\nSecond line\n"
                      "# TYPE sirr_things_total counter\nsirr_things_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE sirr_level gauge\nsirr_level{kind=\"x\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("sirr_requests_total{route=\"/api/v1/vaults/{vault}\",code=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sirr_requests_total{route=\"weird \\\"route\\\"\\n\",code=\"404\"} 1\n"),
            std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  Histogram h({0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  r.Add("sirr_latency_seconds", "Latency.", h);
  const std::string text = r.Render();
  EXPECT_NE(text.find("sirr_latency_seconds_bucket{le=\"0.1\"} 2\n"
                      "sirr_latency_seconds_bucket{le=\"1\"} 3\n"
                      "sirr_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                      "sirr_latency_seconds_sum 7.65\n"
                      "sirr_latency_seconds_count 4\n"),
            std::string::npos)
      << text;
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Family<Counter> f({"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) f.With({i % 2 ? "a" : "b"}).Inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.With({"a"}).Value() + f.With({"b"}).Value(), 40000u);
}

TEST(MetricsTest, ProcessMetricsReadProc) {
  Registry r;
  r.AddProcessMetrics();
  const std::string text = r.Render();
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_open_fds ", "process_max_fds ", "process_start_time_seconds "})
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name;
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
}

}  // namespace
}  // namespace sirr::metrics
