// Creates several topics in one JVM run (kafka.sh create-topics), with Kafka's own Admin client,
// then waits until every partition has a leader, so that a producer can use them at once.
//   java -cp 'lib/*:target/classes' CreateTopics BOOTSTRAP NAME[:PARTITIONS]...
// Idempotent: a topic that already exists is reported as such (its partition count is left alone).
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

public final class CreateTopics {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: CreateTopics BOOTSTRAP NAME[:PARTITIONS]...");
            System.exit(2);
        }
        List<NewTopic> topics = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String spec = args[i];
            int colon = spec.lastIndexOf(':');
            String name = colon < 0 ? spec : spec.substring(0, colon);
            Optional<Integer> partitions =
                colon < 0 ? Optional.empty() : Optional.of(Integer.parseInt(spec.substring(colon + 1)));
            topics.add(new NewTopic(name, partitions, Optional.of((short) 1)));
            names.add(name);
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafka-dev-create-topics");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        boolean failed = false;
        try (Admin admin = Admin.create(props)) {
            for (Map.Entry<String, KafkaFuture<Void>> e : admin.createTopics(topics).values().entrySet()) {
                try {
                    e.getValue().get();
                    System.out.println("created " + e.getKey());
                } catch (ExecutionException ex) {
                    if (ex.getCause() instanceof TopicExistsException) {
                        System.out.println("exists  " + e.getKey());
                    } else {
                        System.err.println("FAILED  " + e.getKey() + ": " + ex.getCause());
                        failed = true;
                    }
                }
            }
            if (failed) System.exit(1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                String missing = null;
                try {
                    Map<String, TopicDescription> d = admin.describeTopics(names).allTopicNames().get();
                    outer:
                    for (TopicDescription td : d.values())
                        for (TopicPartitionInfo p : td.partitions())
                            if (p.leader() == null || p.leader().isEmpty()) {
                                missing = td.name() + "-" + p.partition();
                                break outer;
                            }
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof UnknownTopicOrPartitionException)) throw ex;
                    missing = "metadata: " + ex.getCause().getMessage();
                }
                if (missing == null) break;
                if (System.nanoTime() > deadline) {
                    System.err.println("FAILED  no leader for " + missing + " after 30 s");
                    System.exit(1);
                }
                Thread.sleep(100);
            }
        }
    }
}
